import GlideConnection

extension GlideCommandExecutor {
    /// Removes `keys`; returns how many existed.
    @inlinable @discardableResult
    public func del<Keys: Sequence>(_ keys: Keys) async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible {
        try await execute(DEL(keys))
    }

    /// Removes `keys` in the background; returns how many existed.
    @inlinable @discardableResult
    public func unlink<Keys: Sequence>(_ keys: Keys) async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible {
        try await execute(UNLINK(keys))
    }

    /// How many of `keys` exist, counting repeats.
    @inlinable
    public func exists<Keys: Sequence>(_ keys: Keys) async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible {
        try await execute(EXISTS(keys))
    }

    /// Sets a time to live in seconds; returns whether it was set.
    @inlinable @discardableResult
    public func expire(_ key: some BulkStringConvertible, seconds: Int, condition: EXPIRE.Condition? = nil)
        async throws(GlideError) -> Bool
    {
        try await execute(EXPIRE(key, seconds: seconds, condition: condition))
    }

    /// Sets a time to live in milliseconds; returns whether it was set.
    @inlinable @discardableResult
    public func pexpire(_ key: some BulkStringConvertible, milliseconds: Int, condition: PEXPIRE.Condition? = nil)
        async throws(GlideError) -> Bool
    {
        try await execute(PEXPIRE(key, milliseconds: milliseconds, condition: condition))
    }

    /// Sets an expiry as a Unix time in seconds; returns whether it was set.
    @inlinable @discardableResult
    public func expireAt(_ key: some BulkStringConvertible, unixSeconds: Int, condition: EXPIREAT.Condition? = nil)
        async throws(GlideError) -> Bool
    {
        try await execute(EXPIREAT(key, unixTimeSeconds: unixSeconds, condition: condition))
    }

    /// The time to live in seconds: -1 without expiry, -2 when the key does not exist.
    @inlinable
    public func ttl(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(TTL(key))
    }

    /// The time to live in milliseconds: -1 without expiry, -2 when the key does not exist.
    @inlinable
    public func pttl(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(PTTL(key))
    }

    /// Removes the expiry; returns whether there was one.
    @inlinable @discardableResult
    public func persist(_ key: some BulkStringConvertible) async throws(GlideError) -> Bool {
        try await execute(PERSIST(key))
    }

    /// The type of the value at `key`: `string`, `list`, `set`, `zset`, `hash`, `stream`, or `none`.
    @inlinable
    public func type(_ key: some BulkStringConvertible) async throws(GlideError) -> String {
        try await execute(TYPE(key))
    }

    /// Renames `key` to `newKey`, replacing it.
    @inlinable
    public func rename(_ key: some BulkStringConvertible, _ newKey: some BulkStringConvertible) async throws(GlideError) {
        try await execute(RENAME(key, newKey))
    }

    /// Renames `key` to `newKey` only if `newKey` does not exist; returns whether it renamed.
    @inlinable @discardableResult
    public func renamenx(_ key: some BulkStringConvertible, _ newKey: some BulkStringConvertible) async throws(GlideError) -> Bool {
        try await execute(RENAMENX(key, newKey))
    }

    /// Copies `source` to `destination`; returns whether it copied.
    @inlinable @discardableResult
    public func copy(_ source: some BulkStringConvertible, _ destination: some BulkStringConvertible, replace: Bool = false)
        async throws(GlideError) -> Bool
    {
        try await execute(COPY(source, destination, replace: replace))
    }

    /// Updates the last access time of `keys`; returns how many exist.
    @inlinable @discardableResult
    public func touch<Keys: Sequence>(_ keys: Keys) async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible {
        try await execute(TOUCH(keys))
    }

    /// One page of an iteration over the keys; start with cursor `"0"`, continue with the page's
    /// cursor until it is `"0"` again.
    @inlinable
    public func scan(_ cursor: String = "0", match: BulkString? = nil, count: Int? = nil, type: BulkString? = nil)
        async throws(GlideError) -> ScanPage
    {
        try await execute(SCAN(cursor, pattern: match, count: count, type: type))
    }

    /// A random key, or `nil` when the database is empty.
    @inlinable
    public func randomKey() async throws(GlideError) -> String? {
        try await execute(RANDOMKEY().decoding(as: String?.self))
    }
}
