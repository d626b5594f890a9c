/// `DEL key [key ...]`: removes keys; the number that existed.
public struct DEL<Key: RESPArgument & Sendable>: GlideCommand {
    /// How many of the keys existed.
    public typealias Response = Int
    /// `DEL`
    public static var name: String { "DEL" }
    /// The keys to remove.
    public var keys: [Key]

    /// Removes `keys`.
    @inlinable
    public init(_ keys: [Key]) { self.keys = keys }

    /// Writes `DEL keys...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("DEL" as StaticString, keys) }
}

/// `EXISTS key [key ...]`: how many of the keys exist, counting repeats.
public struct EXISTS<Key: RESPArgument & Sendable>: GlideCommand {
    /// The count of existing keys.
    public typealias Response = Int
    /// `EXISTS`
    public static var name: String { "EXISTS" }
    /// The keys to look for.
    public var keys: [Key]

    /// Counts which of `keys` exist.
    @inlinable
    public init(_ keys: [Key]) { self.keys = keys }

    /// Writes `EXISTS keys...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("EXISTS" as StaticString, keys) }
}

/// `WATCH key [key ...]`: makes the next `EXEC` on this connection fail if a key changes first.
public struct WATCH<Key: RESPArgument & Sendable>: GlideCommand {
    /// `OK`.
    public typealias Response = Void
    /// `WATCH`
    public static var name: String { "WATCH" }
    /// The keys to watch.
    public var keys: [Key]

    /// Watches `keys`.
    @inlinable
    public init(_ keys: [Key]) { self.keys = keys }

    /// Writes `WATCH keys...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("WATCH" as StaticString, keys) }

    /// Accepts the `OK`.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) {}
}

/// `UNWATCH`: forgets every watched key of this connection.
public struct UNWATCH: GlideCommand {
    /// `OK`.
    public typealias Response = Void
    /// `UNWATCH`
    public static var name: String { "UNWATCH" }

    /// Unwatches everything.
    @inlinable
    public init() {}

    /// Writes `UNWATCH`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("UNWATCH" as StaticString) }

    /// Accepts the `OK`.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) {}
}
