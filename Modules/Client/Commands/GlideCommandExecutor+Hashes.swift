import GlideConnection

extension GlideCommandExecutor {
    /// Sets fields of the hash at `key`; returns how many fields were added (not updated).
    @inlinable @discardableResult
    public func hset<Field: BulkStringConvertible & Hashable, Value: BulkStringConvertible>(
        _ key: some BulkStringConvertible, _ fields: [Field: Value]
    ) async throws(GlideError) -> Int {
        try await execute(HSET(key, data: fields.map { HSET.Data(field: $0.key, value: $0.value) }))
    }

    /// Sets one field only if it does not exist; returns whether it was set.
    @inlinable @discardableResult
    public func hsetnx(_ key: some BulkStringConvertible, _ field: some BulkStringConvertible, _ value: some BulkStringConvertible)
        async throws(GlideError) -> Bool
    {
        try await execute(HSETNX(key, field, value))
    }

    /// The value of `field`, or `nil`.
    @inlinable
    public func hget<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, _ field: some BulkStringConvertible,
        as: Value.Type = String.self
    ) async throws(GlideError) -> Value? {
        try await execute(HGET(key, field).decoding(as: Value?.self))
    }

    /// Every field and value.
    @inlinable
    public func hgetall<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> [String: Value]
    {
        try await execute(HGETALL(key).decoding(as: [String: Value].self))
    }

    /// The values of `fields`, `nil` for missing ones.
    @inlinable
    public func hmget<Fields: Sequence, Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, _ fields: Fields, as: Value.Type = String.self
    ) async throws(GlideError) -> [Value?] where Fields.Element: BulkStringConvertible {
        try await execute(HMGET(key, fields).decoding(as: [Value?].self))
    }

    /// Removes `fields`; returns how many existed.
    @inlinable @discardableResult
    public func hdel<Fields: Sequence>(_ key: some BulkStringConvertible, _ fields: Fields) async throws(GlideError) -> Int
    where Fields.Element: BulkStringConvertible {
        try await execute(HDEL(key, fields))
    }

    /// Whether `field` exists.
    @inlinable
    public func hexists(_ key: some BulkStringConvertible, _ field: some BulkStringConvertible) async throws(GlideError) -> Bool {
        try await execute(HEXISTS(key, field))
    }

    /// Adds `amount` to the integer in `field`; returns the result.
    @inlinable @discardableResult
    public func hincrBy(_ key: some BulkStringConvertible, _ field: some BulkStringConvertible, _ amount: Int)
        async throws(GlideError) -> Int
    {
        try await execute(HINCRBY(key, field, increment: amount))
    }

    /// Adds `amount` to the number in `field`; returns the result.
    @inlinable @discardableResult
    public func hincrByFloat(_ key: some BulkStringConvertible, _ field: some BulkStringConvertible, _ amount: Double)
        async throws(GlideError) -> Double
    {
        try await execute(HINCRBYFLOAT(key, field, increment: amount))
    }

    /// The field names.
    @inlinable
    public func hkeys<Field: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Field.Type = String.self)
        async throws(GlideError) -> [Field]
    {
        try await execute(HKEYS(key).decoding(as: [Field].self))
    }

    /// The values.
    @inlinable
    public func hvals<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> [Value]
    {
        try await execute(HVALS(key).decoding(as: [Value].self))
    }

    /// The number of fields.
    @inlinable
    public func hlen(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(HLEN(key))
    }

    /// The length of the value in `field`.
    @inlinable
    public func hstrlen(_ key: some BulkStringConvertible, _ field: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(HSTRLEN(key, field))
    }

    /// One page of an iteration over fields and values (in turn, in `elements`).
    @inlinable
    public func hscan(_ key: some BulkStringConvertible, cursor: String = "0", match: BulkString? = nil, count: Int? = nil)
        async throws(GlideError) -> ScanPage
    {
        try await execute(HSCAN(key, cursor, pattern: match, count: count))
    }
}
