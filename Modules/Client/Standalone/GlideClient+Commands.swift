// Typed entry points for the first command slice, in GLIDE's naming. `String` overloads are
// concrete; generic ones are inlinable, so both run specialised code.

extension GlideClient {
    /// The value of `key` as text, or `nil` when it does not exist.
    public func get(_ key: String) async throws(GlideError) -> String? {
        try await execute(GET(key, as: String.self))
    }

    /// The value of `key` decoded as `Value` (`Bytes` for binary data), or `nil`.
    @inlinable
    public func get<Key: RESPArgument & Sendable, Value: RESPTokenDecodable>(
        _ key: Key, as: Value.Type = Value.self
    ) async throws(GlideError) -> Value? {
        try await execute(GET(key, as: Value.self))
    }

    /// Writes `value` at `key`. Returns false when `condition` kept it from being written.
    @discardableResult
    public func set(_ key: String, _ value: String, condition: SetCondition? = nil, expiry: SetExpiry? = nil)
        async throws(GlideError) -> Bool
    {
        try await execute(SET(key, value, condition: condition, expiry: expiry))
    }

    /// Writes any value (`Bytes`, `Int`, …) at any key.
    @inlinable @discardableResult
    public func set<Key: RESPArgument & Sendable, Value: RESPArgument & Sendable>(
        _ key: Key, _ value: Value, condition: SetCondition? = nil, expiry: SetExpiry? = nil
    ) async throws(GlideError) -> Bool {
        try await execute(SET(key, value, condition: condition, expiry: expiry))
    }

    /// Removes `keys`; returns how many existed.
    @inlinable @discardableResult
    public func del<Key: RESPArgument & Sendable>(_ keys: [Key]) async throws(GlideError) -> Int {
        try await execute(DEL(keys))
    }

    /// How many of `keys` exist, counting repeats.
    @inlinable
    public func exists<Key: RESPArgument & Sendable>(_ keys: [Key]) async throws(GlideError) -> Int {
        try await execute(EXISTS(keys))
    }

    /// Adds one to the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func incr<Key: RESPArgument & Sendable>(_ key: Key) async throws(GlideError) -> Int {
        try await execute(INCRBY(key, by: 1))
    }

    /// Adds `amount` to the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func incrBy<Key: RESPArgument & Sendable>(_ key: Key, _ amount: Int) async throws(GlideError) -> Int {
        try await execute(INCRBY(key, by: amount))
    }

    /// The values of `keys` as text, `nil` where a key does not exist.
    public func mget(_ keys: [String]) async throws(GlideError) -> [String?] {
        try await execute(MGET(keys, as: String.self))
    }

    /// The values of `keys` decoded as `Value`.
    @inlinable
    public func mget<Key: RESPArgument & Sendable, Value: RESPTokenDecodable>(
        _ keys: [Key], as: Value.Type = Value.self
    ) async throws(GlideError) -> [Value?] {
        try await execute(MGET(keys, as: Value.self))
    }

    /// Writes every key and value at once.
    public func mset(_ pairs: [String: String]) async throws(GlideError) {
        try await execute(MSET(pairs.map { (key: $0.key, value: $0.value) }))
    }

    /// Writes every key and value at once, in order.
    @inlinable
    public func mset<Key: RESPArgument & Sendable, Value: RESPArgument & Sendable>(
        _ pairs: [(key: Key, value: Value)]
    ) async throws(GlideError) {
        try await execute(MSET(pairs))
    }

    /// `PONG`, or `message` echoed back.
    public func ping(_ message: String? = nil) async throws(GlideError) -> String {
        try await execute(PING(message))
    }

    /// The server's report for `sections` (the default set when empty).
    public func info(_ sections: [InfoSection] = []) async throws(GlideError) -> String {
        try await execute(INFO(sections))
    }

    /// Switches to logical database `index`. Reconnections select it again.
    ///
    /// The connection is shared: the switch applies to every caller of this client.
    public func select(_ index: Int) async throws(GlideError) {
        try await execute(SELECT(index))
        connection.databaseSelected(index)
    }

    /// Watches `keys`: the next `exec` returns `nil` if one of them changes first.
    ///
    /// The connection is shared, so any transaction executed on this client by another task
    /// in between also ends the watch.
    @inlinable
    public func watch<Key: RESPArgument & Sendable>(_ keys: [Key]) async throws(GlideError) {
        try await execute(WATCH(keys))
    }

    /// Forgets every watched key.
    public func unwatch() async throws(GlideError) {
        try await execute(UNWATCH())
    }
}
