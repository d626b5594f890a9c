import GlideConnection

extension GlideCommandExecutor {
    /// Adds members with scores (or updates their scores); returns how many were added, or with
    /// `changed`, how many were added or changed.
    @inlinable @discardableResult
    public func zadd<Member: BulkStringConvertible & Hashable>(
        _ key: some BulkStringConvertible, _ members: [Member: Double], condition: ZADD.Condition? = nil,
        comparison: ZADD.Comparison? = nil, changed: Bool = false
    ) async throws(GlideError) -> Int {
        let data = members.map { ZADD.Data(score: $0.value, member: $0.key) }
        return try await execute(
            ZADD(key, condition: condition, comparison: comparison, change: changed, data: data)
                .decoding(as: Int.self))
    }

    /// Adds `increment` to the score of `member` (`ZADD … INCR`); returns the new score, or `nil`
    /// when a condition kept it from changing.
    @inlinable @discardableResult
    public func zaddIncr(
        _ key: some BulkStringConvertible, _ member: some BulkStringConvertible, increment: Double,
        condition: ZADD.Condition? = nil, comparison: ZADD.Comparison? = nil
    ) async throws(GlideError) -> Double? {
        try await execute(
            ZADD(
                key, condition: condition, comparison: comparison, increment: true,
                data: [ZADD.Data(score: increment, member: member)]
            ).decoding(as: Double?.self))
    }

    /// Removes `members`; returns how many were there.
    @inlinable @discardableResult
    public func zrem<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> Int
    where Members.Element: BulkStringConvertible {
        try await execute(ZREM(key, members))
    }

    /// The number of members.
    @inlinable
    public func zcard(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(ZCARD(key))
    }

    /// The score of `member`, or `nil`.
    @inlinable
    public func zscore(_ key: some BulkStringConvertible, _ member: some BulkStringConvertible) async throws(GlideError) -> Double? {
        try await execute(ZSCORE(key, member))
    }

    /// The scores of `members`, `nil` for missing ones.
    @inlinable
    public func zmscore<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> [Double?]
    where Members.Element: BulkStringConvertible {
        try await execute(ZMSCORE(key, members))
    }

    /// Adds `increment` to the score of `member`; returns the new score.
    @inlinable @discardableResult
    public func zincrBy(_ key: some BulkStringConvertible, _ increment: Double, _ member: some BulkStringConvertible)
        async throws(GlideError) -> Double
    {
        try await execute(ZINCRBY(key, increment: increment, member: member))
    }

    /// The rank of `member` by ascending score, or `nil`.
    @inlinable
    public func zrank(_ key: some BulkStringConvertible, _ member: some BulkStringConvertible) async throws(GlideError) -> Int? {
        try await execute(ZRANK(key, member).decoding(as: Int?.self))
    }

    /// The rank of `member` by descending score, or `nil`.
    @inlinable
    public func zrevrank(_ key: some BulkStringConvertible, _ member: some BulkStringConvertible) async throws(GlideError) -> Int? {
        try await execute(ZREVRANK(key, member).decoding(as: Int?.self))
    }

    /// The number of members with scores between `min` and `max` (inclusive; `"(1"` excludes,
    /// `"-inf"` and `"+inf"` are open).
    @inlinable
    public func zcount(_ key: some BulkStringConvertible, min: some BulkStringConvertible, max: some BulkStringConvertible)
        async throws(GlideError) -> Int
    {
        try await execute(ZCOUNT(key, min, max))
    }

    /// Members by rank from `start` to `stop` (inclusive; negative counts from the end).
    @inlinable
    public func zrange<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, _ start: Int, _ stop: Int,
        reverse: Bool = false, as: Value.Type = String.self
    ) async throws(GlideError) -> [Value] {
        try await execute(ZRANGE(key, start, stop, rev: reverse).decoding(as: [Value].self))
    }

    /// Members with their scores, by rank from `start` to `stop`.
    @inlinable
    public func zrangeWithScores(_ key: some BulkStringConvertible, _ start: Int, _ stop: Int, reverse: Bool = false)
        async throws(GlideError) -> ScoredMembers
    {
        try await execute(ZRANGE(key, start, stop, rev: reverse, withscores: true).decoding(as: ScoredMembers.self))
    }

    /// Members with scores between `min` and `max` (`"(1"` excludes; `"-inf"`, `"+inf"`), ascending.
    @inlinable
    public func zrangeByScore(
        _ key: some BulkStringConvertible, min: some BulkStringConvertible, max: some BulkStringConvertible,
        limit: (offset: Int, count: Int)? = nil
    ) async throws(GlideError) -> [String] {
        try await execute(
            ZRANGE(key, min, max, sortby: .byscore, limit: limit.map { ZRANGE.Limit(offset: $0.offset, count: $0.count) })
                .decoding(as: [String].self))
    }

    /// Removes and returns up to `count` members with the lowest scores.
    @inlinable
    public func zpopmin(_ key: some BulkStringConvertible, count: Int = 1) async throws(GlideError) -> ScoredMembers {
        try await execute(ZPOPMIN(key, count: count).decoding(as: ScoredMembers.self))
    }

    /// Removes and returns up to `count` members with the highest scores.
    @inlinable
    public func zpopmax(_ key: some BulkStringConvertible, count: Int = 1) async throws(GlideError) -> ScoredMembers {
        try await execute(ZPOPMAX(key, count: count).decoding(as: ScoredMembers.self))
    }

    /// One page of an iteration over members and scores (in turn, in `elements`).
    @inlinable
    public func zscan(_ key: some BulkStringConvertible, cursor: String = "0", match: BulkString? = nil, count: Int? = nil)
        async throws(GlideError) -> ScanPage
    {
        try await execute(ZSCAN(key, cursor, pattern: match, count: count))
    }
}
