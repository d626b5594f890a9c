import GlideConnection

extension GlideCommandExecutor {
    /// The value of `key` (as `String` unless asked for another type), or `nil` when it does not exist.
    @inlinable
    public func get<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> Value?
    {
        try await execute(GET(key).decoding(as: Value?.self))
    }

    /// Writes `value` at `key`. Returns false when `condition` kept it from being written.
    @inlinable @discardableResult
    public func set(
        _ key: some BulkStringConvertible, _ value: some BulkStringConvertible,
        condition: SET.Condition? = nil, expiry: SET.Expiration? = nil
    ) async throws(GlideError) -> Bool {
        try await execute(SET(key, value, condition: condition, expiration: expiry).decoding(as: Bool?.self)) ?? false
    }

    /// Writes `value` at `key` and returns the value it replaced (`SET … GET`).
    @inlinable
    public func setReturningOldValue<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, _ value: some BulkStringConvertible, condition: SET.Condition? = nil,
        expiry: SET.Expiration? = nil, as: Value.Type = String.self
    ) async throws(GlideError) -> Value? {
        try await execute(SET(key, value, condition: condition, get: true, expiration: expiry).decoding(as: Value?.self))
    }

    /// The value of `key`, which is then deleted.
    @inlinable
    public func getdel<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> Value?
    {
        try await execute(GETDEL(key).decoding(as: Value?.self))
    }

    /// The value of `key`, changing its expiry.
    @inlinable
    public func getex<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, expiry: GETEX.Expiration? = nil,
        as: Value.Type = String.self
    ) async throws(GlideError) -> Value? {
        try await execute(GETEX(key, expiration: expiry).decoding(as: Value?.self))
    }

    /// The bytes of the value of `key` from `start` to `end`, inclusive; negative offsets count from the end.
    @inlinable
    public func getrange<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, start: Int, end: Int,
        as: Value.Type = String.self
    ) async throws(GlideError) -> Value {
        try await execute(GETRANGE(key, start: start, end: end).decoding(as: Value.self))
    }

    /// Overwrites part of the value of `key` from `offset`; returns the new length.
    @inlinable @discardableResult
    public func setrange(_ key: some BulkStringConvertible, offset: Int, _ value: some BulkStringConvertible)
        async throws(GlideError) -> Int
    {
        try await execute(SETRANGE(key, offset: offset, value: value.bulkString))
    }

    /// Appends `value` to the value of `key`; returns the new length.
    @inlinable @discardableResult
    public func append(_ key: some BulkStringConvertible, _ value: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(APPEND(key, value))
    }

    /// The length of the value of `key`.
    @inlinable
    public func strlen(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(STRLEN(key))
    }

    /// Adds one to the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func incr(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(INCR(key))
    }

    /// Adds `amount` to the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func incrBy(_ key: some BulkStringConvertible, _ amount: Int) async throws(GlideError) -> Int {
        try await execute(INCRBY(key, increment: amount))
    }

    /// Adds `amount` to the number at `key` and returns the result.
    @inlinable @discardableResult
    public func incrByFloat(_ key: some BulkStringConvertible, _ amount: Double) async throws(GlideError) -> Double {
        try await execute(INCRBYFLOAT(key, increment: amount))
    }

    /// Subtracts one from the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func decr(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(DECR(key))
    }

    /// Subtracts `amount` from the integer at `key` and returns the result.
    @inlinable @discardableResult
    public func decrBy(_ key: some BulkStringConvertible, _ amount: Int) async throws(GlideError) -> Int {
        try await execute(DECRBY(key, decrement: amount))
    }

    /// The values of `keys` (as `String` unless asked for another type), `nil` where a key does not exist.
    @inlinable
    public func mget<Keys: Sequence, Value: RESPTokenDecodable>(_ keys: Keys, as: Value.Type = String.self)
        async throws(GlideError) -> [Value?] where Keys.Element: BulkStringConvertible
    {
        try await execute(MGET(keys).decoding(as: [Value?].self))
    }

    /// Writes every key and value at once.
    @inlinable
    public func mset<Key: BulkStringConvertible & Hashable, Value: BulkStringConvertible>(_ pairs: [Key: Value])
        async throws(GlideError)
    {
        try await execute(MSET(data: pairs.map { MSET.Data(key: $0.key, value: $0.value) }))
    }

    /// Writes every key and value at once, in order.
    @inlinable
    public func mset<Key: BulkStringConvertible, Value: BulkStringConvertible>(_ pairs: [(key: Key, value: Value)])
        async throws(GlideError)
    {
        try await execute(MSET(data: pairs.map { MSET.Data(key: $0.key, value: $0.value) }))
    }

    /// Writes every key and value only if none of the keys exists; returns whether it wrote.
    @inlinable @discardableResult
    public func msetnx<Key: BulkStringConvertible & Hashable, Value: BulkStringConvertible>(_ pairs: [Key: Value])
        async throws(GlideError) -> Bool
    {
        try await execute(MSETNX(data: pairs.map { MSETNX.Data(key: $0.key, value: $0.value) }))
    }
}
