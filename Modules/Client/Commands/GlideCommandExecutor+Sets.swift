import GlideConnection

extension GlideCommandExecutor {
    /// Adds `members`; returns how many were new.
    @inlinable @discardableResult
    public func sadd<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> Int
    where Members.Element: BulkStringConvertible {
        try await execute(SADD(key, members))
    }

    /// Removes `members`; returns how many were there.
    @inlinable @discardableResult
    public func srem<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> Int
    where Members.Element: BulkStringConvertible {
        try await execute(SREM(key, members))
    }

    /// Every member.
    @inlinable
    public func smembers<Member: RESPTokenDecodable & Hashable>(_ key: some BulkStringConvertible, as: Member.Type = String.self)
        async throws(GlideError) -> Set<Member>
    {
        Set(try await execute(SMEMBERS(key).decoding(as: [Member].self)))
    }

    /// Whether `member` is in the set.
    @inlinable
    public func sismember(_ key: some BulkStringConvertible, _ member: some BulkStringConvertible) async throws(GlideError) -> Bool {
        try await execute(SISMEMBER(key, member))
    }

    /// For each of `members`, whether it is in the set.
    @inlinable
    public func smismember<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> [Bool]
    where Members.Element: BulkStringConvertible {
        try await execute(SMISMEMBER(key, members))
    }

    /// The number of members.
    @inlinable
    public func scard(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(SCARD(key))
    }

    /// Removes and returns a random member, or `nil` when the set is empty.
    @inlinable
    public func spop(_ key: some BulkStringConvertible) async throws(GlideError) -> String? {
        try await execute(SPOP(key).decoding(as: String?.self))
    }

    /// Moves `member` from `source` to `destination`; returns whether it was in `source`.
    @inlinable @discardableResult
    public func smove(
        _ source: some BulkStringConvertible, _ destination: some BulkStringConvertible,
        _ member: some BulkStringConvertible
    ) async throws(GlideError) -> Bool {
        try await execute(SMOVE(source, destination, member))
    }

    /// The members in every one of `keys`.
    @inlinable
    public func sinter<Keys: Sequence, Member: RESPTokenDecodable & Hashable>(_ keys: Keys, as: Member.Type = String.self)
        async throws(GlideError) -> Set<Member> where Keys.Element: BulkStringConvertible
    {
        Set(try await execute(SINTER(keys).decoding(as: [Member].self)))
    }

    /// The members in any of `keys`.
    @inlinable
    public func sunion<Keys: Sequence, Member: RESPTokenDecodable & Hashable>(_ keys: Keys, as: Member.Type = String.self)
        async throws(GlideError) -> Set<Member> where Keys.Element: BulkStringConvertible
    {
        Set(try await execute(SUNION(keys).decoding(as: [Member].self)))
    }

    /// The members of the first of `keys` that are in none of the others.
    @inlinable
    public func sdiff<Keys: Sequence, Member: RESPTokenDecodable & Hashable>(_ keys: Keys, as: Member.Type = String.self)
        async throws(GlideError) -> Set<Member> where Keys.Element: BulkStringConvertible
    {
        Set(try await execute(SDIFF(keys).decoding(as: [Member].self)))
    }

    /// One page of an iteration over the members.
    @inlinable
    public func sscan(_ key: some BulkStringConvertible, cursor: String = "0", match: BulkString? = nil, count: Int? = nil)
        async throws(GlideError) -> ScanPage
    {
        try await execute(SSCAN(key, cursor, pattern: match, count: count))
    }
}
