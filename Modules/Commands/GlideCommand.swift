@_exported public import GlideRESPCodec

/// A command: how to write it and what its reply decodes to.
///
/// Clients dispatch commands generically (`execute<C: GlideCommand>`), never through `any`, so
/// encoding and decoding are specialised for each command and its argument types.
public protocol GlideCommand: Sendable {
    /// What the reply decodes to.
    associatedtype Response: Sendable

    /// The command's name as the server knows it, such as `GET` or `CLIENT SETNAME`.
    static var name: String { get }

    /// Writes the command as a RESP array of bulk strings.
    func encode(into buffer: inout RESPCommandBuffer)

    /// Decodes a reply that is not an error. Server errors are handled before this is called.
    func decodeResponse(_ token: RESPToken) throws(RESPConversionError) -> Response

    /// For a blocking command, how long the server may hold the reply back; the client waits this
    /// much longer than its request timeout. `nil` for commands that never block.
    var blockingTimeout: Duration? { get }
}

extension GlideCommand {
    /// Commands don't block unless they say so.
    @inlinable public var blockingTimeout: Duration? { nil }
}

extension GlideCommand where Response: RESPTokenDecodable {
    /// Decodes the reply with the response type's own decoding.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) -> Response {
        try Response(fromRESP: token)
    }
}

/// Any command, given as its arguments, with the reply as a `RESPValue` tree.
public struct CustomCommand<Arguments: RESPArgument & Sendable>: GlideCommand {
    /// The reply as sent.
    public typealias Response = RESPValue
    /// Not known in general.
    public static var name: String { "CUSTOM" }
    /// The command name and its arguments, e.g. `["CLIENT", "INFO"]`.
    public var arguments: Arguments

    /// A command made of `arguments`.
    @inlinable
    public init(_ arguments: Arguments) { self.arguments = arguments }

    /// Writes the arguments as one RESP array.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand(arguments) }
}
