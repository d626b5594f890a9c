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

    /// Why the command can't run on a connection shared by many callers (it would stop one reply
    /// per request, like `SUBSCRIBE`, or reset what every caller relies on, like `RESET`); `nil`
    /// for nearly every command. Clients refuse such commands before sending them.
    static var multiplexingRefusal: String? { get }

    /// For `SELECT`, the database it switches to, which the client selects again after a
    /// reconnection; `nil` for every other command.
    var selectedDatabase: Int? { get }

    /// The command's policies and flags, for a cluster client.
    static var routing: CommandRouting { get }

    /// Calls `body` with each key the command names, in argument order: what a cluster client
    /// routes by. (Sharded pub/sub channels count as keys: they are routed the same way.)
    func forEachKey(_ body: (BulkString) -> Void)
}

extension GlideCommand {
    /// Commands don't block unless they say so.
    @inlinable public var blockingTimeout: Duration? { nil }
    /// Commands are safe on a shared connection unless they say otherwise.
    @inlinable public static var multiplexingRefusal: String? { nil }
    /// Only `SELECT` selects a database.
    @inlinable public var selectedDatabase: Int? { nil }

    /// Looked up in `CommandTable` by name; generated commands state theirs as constants.
    public static var routing: CommandRouting {
        CommandTable.metadata(named: name).map(CommandRouting.init) ?? .unknown
    }

    /// Found the slow way, for hand-written commands: the command is encoded, and the key
    /// specifications of the command with its name in `CommandTable` pick the keys out of the
    /// arguments. Generated commands visit their key properties directly. A command the table
    /// doesn't know names no keys unless it implements this itself.
    public func forEachKey(_ body: (BulkString) -> Void) {
        var buffer = RESPCommandBuffer()
        encode(into: &buffer)
        guard let token = try? RESPToken(validating: buffer.contiguousBytes), let elements = token.elements else { return }
        let arguments = elements.compactMap { $0.stringBytes }
        guard let metadata = CommandTable.metadata(for: arguments) else { return }
        for index in metadata.keyIndices(in: arguments) { body(BulkString(arguments[index])) }
    }
}

/// Blocking timeouts as durations, clamped so that no argument traps.
public enum BlockingTimeout {
    /// `seconds` (a fraction allowed) as a duration; zero, which blocks forever, stays zero.
    @inlinable
    public static func seconds(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return seconds > 0 ? .seconds(1_000_000_000) : .zero }
        return .milliseconds(Int64(min(seconds, 1_000_000_000) * 1000))
    }

    /// `milliseconds` as a duration; zero, which blocks forever, stays zero.
    @inlinable
    public static func milliseconds(_ milliseconds: Int) -> Duration {
        .milliseconds(Int64(clamping: max(milliseconds, 0)))
    }
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
    /// For a blocking command, how long the server may hold the reply back (see
    /// `CommandTable.blockingTimeout(for:)`); `nil` otherwise.
    public var blockingTimeout: Duration?

    /// A command made of `arguments`.
    @inlinable
    public init(_ arguments: Arguments, blockingTimeout: Duration? = nil) {
        self.arguments = arguments
        self.blockingTimeout = blockingTimeout
    }

    /// Writes the arguments as one RESP array.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand(arguments) }
}
