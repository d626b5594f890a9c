extension GlideCommand where Response == Void {
    /// Accepts any reply that is not an error (usually `OK`).
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) {}
}

/// A command whose reply is decoded as another type than the command's own `Response`.
///
/// ```swift
/// let name = try await client.execute(HGET("user:1", "name").decoding(as: String?.self))
/// ```
public struct Decoding<Base: GlideCommand, Decoded: RESPTokenDecodable>: GlideCommand {
    /// The decoded reply.
    public typealias Response = Decoded

    /// The command sent.
    public let base: Base

    /// The base command's name.
    public static var name: String { Base.name }

    /// Wraps `base`.
    @inlinable
    public init(_ base: Base) { self.base = base }

    /// Writes the base command.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { base.encode(into: &buffer) }

    /// The base command's blocking timeout.
    @inlinable
    public var blockingTimeout: Duration? { base.blockingTimeout }

    /// The base command's refusal.
    @inlinable
    public static var multiplexingRefusal: String? { Base.multiplexingRefusal }

    /// The base command's database.
    @inlinable
    public var selectedDatabase: Int? { base.selectedDatabase }

    /// The base command's routing.
    @inlinable
    public static var routing: CommandRouting { Base.routing }

    /// The base command's keys.
    @inlinable
    public func forEachKey(_ body: (BulkString) -> Void) { base.forEachKey(body) }
}

extension GlideCommand {
    /// The same command, with its reply decoded as `type`.
    @inlinable
    public func decoding<Decoded: RESPTokenDecodable>(as type: Decoded.Type) -> Decoding<Self, Decoded> {
        Decoding(self)
    }
}
