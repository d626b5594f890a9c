// The first hand-written slice of the string commands. The command generator replaces these with
// generated ones that carry the same names and shapes.

/// `GET key`: the value of `key`, or `nil` when it does not exist.
public struct GET<Key: RESPArgument & Sendable, Value: RESPTokenDecodable>: GlideCommand {
    /// The value, or `nil`.
    public typealias Response = Value?
    /// `GET`
    public static var name: String { "GET" }
    /// The key to read.
    public var key: Key

    /// Reads `key`, decoding its value as `Value`.
    @inlinable
    public init(_ key: Key, as: Value.Type = Value.self) { self.key = key }

    /// Writes `GET key`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("GET" as StaticString, key) }
}

/// When a `SET` writes, by the state of the key.
public enum SetCondition: Sendable, Hashable {
    /// `XX`: only when the key already exists.
    case onlyIfExists
    /// `NX`: only when the key does not exist.
    case onlyIfDoesNotExist
    /// `IFEQ value` (Valkey 8.1): only when the key holds exactly this value.
    case onlyIfEqual(Bytes)
}

/// How long a value written by `SET` lives.
public enum SetExpiry: Sendable, Hashable {
    /// `EX`: this many seconds from now.
    case seconds(Int)
    /// `PX`: this many milliseconds from now.
    case milliseconds(Int)
    /// `EXAT`: until this Unix time, in seconds.
    case unixSeconds(Int)
    /// `PXAT`: until this Unix time, in milliseconds.
    case unixMilliseconds(Int)
    /// `KEEPTTL`: keep the time to live the key already has.
    case keepExisting
}

/// `SET key value [NX | XX | IFEQ v] [expiry]`: true when the value was written, false when the
/// condition kept it from being written.
public struct SET<Key: RESPArgument & Sendable, Value: RESPArgument & Sendable>: GlideCommand {
    /// Whether the value was written.
    public typealias Response = Bool
    /// `SET`
    public static var name: String { "SET" }
    /// The key to write.
    public var key: Key
    /// The value to write.
    public var value: Value
    /// When to write; `nil` writes always.
    public var condition: SetCondition?
    /// How long the value lives; `nil` makes it persistent.
    public var expiry: SetExpiry?

    /// Writes `value` at `key`.
    @inlinable
    public init(_ key: Key, _ value: Value, condition: SetCondition? = nil, expiry: SetExpiry? = nil) {
        self.key = key
        self.value = value
        self.condition = condition
        self.expiry = expiry
    }

    /// Writes `SET` and its options.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) {
        let conditionToken: StaticString? = switch condition {
        case .onlyIfExists: "XX"
        case .onlyIfDoesNotExist: "NX"
        case .onlyIfEqual: "IFEQ"
        case nil: nil
        }
        var conditionValue: Bytes? = nil
        if case .onlyIfEqual(let expected) = condition { conditionValue = expected }
        let expiryToken: StaticString?
        var expiryValue: Int? = nil
        switch expiry {
        case .seconds(let n): expiryToken = "EX"; expiryValue = n
        case .milliseconds(let n): expiryToken = "PX"; expiryValue = n
        case .unixSeconds(let n): expiryToken = "EXAT"; expiryValue = n
        case .unixMilliseconds(let n): expiryToken = "PXAT"; expiryValue = n
        case .keepExisting: expiryToken = "KEEPTTL"
        case nil: expiryToken = nil
        }
        buffer.writeRESPCommand("SET" as StaticString, key, value, conditionToken, conditionValue, expiryToken, expiryValue)
    }

    /// `OK` is true; a null (the condition failed) is false.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) -> Bool {
        !token.isNull
    }
}

/// `INCRBY key increment`: the value after adding `increment` (`INCR` when it is 1).
public struct INCRBY<Key: RESPArgument & Sendable>: GlideCommand {
    /// The new value.
    public typealias Response = Int
    /// `INCRBY`
    public static var name: String { "INCRBY" }
    /// The key holding an integer.
    public var key: Key
    /// How much to add; may be negative.
    public var increment: Int

    /// Adds `increment` to the integer at `key`.
    @inlinable
    public init(_ key: Key, by increment: Int = 1) {
        self.key = key
        self.increment = increment
    }

    /// Writes `INCR key`, or `INCRBY key n` for another increment.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) {
        if increment == 1 {
            buffer.writeRESPCommand("INCR" as StaticString, key)
        } else {
            buffer.writeRESPCommand("INCRBY" as StaticString, key, increment)
        }
    }
}

/// `MGET key [key ...]`: the values of several keys, `nil` for each that does not exist.
public struct MGET<Key: RESPArgument & Sendable, Value: RESPTokenDecodable>: GlideCommand {
    /// One value (or `nil`) per key, in order.
    public typealias Response = [Value?]
    /// `MGET`
    public static var name: String { "MGET" }
    /// The keys to read.
    public var keys: [Key]

    /// Reads `keys`.
    @inlinable
    public init(_ keys: [Key], as: Value.Type = Value.self) { self.keys = keys }

    /// Writes `MGET keys...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("MGET" as StaticString, keys) }
}

/// `MSET key value [key value ...]`: writes several keys at once.
public struct MSET<Key: RESPArgument & Sendable, Value: RESPArgument & Sendable>: GlideCommand {
    /// `OK`.
    public typealias Response = Void
    /// `MSET`
    public static var name: String { "MSET" }
    /// The keys and their values, written in this order.
    public var pairs: [(key: Key, value: Value)]

    /// Writes every pair.
    @inlinable
    public init(_ pairs: [(key: Key, value: Value)]) { self.pairs = pairs }

    /// Writes `MSET k1 v1 k2 v2 ...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) {
        var count = 1
        for pair in pairs { count += pair.key.respArgumentCount + pair.value.respArgumentCount }
        buffer.writeRESPArrayHeader(count: count)
        buffer.writeRESPBulkString("MSET")
        for pair in pairs {
            pair.key.writeRESPArguments(into: &buffer)
            pair.value.writeRESPArguments(into: &buffer)
        }
    }

    /// Accepts the `OK`.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) {}
}
