import GlideConnection

extension GlideCommandExecutor {
    /// Appends an entry with `fields` (in order) and returns its ID; `id` `"*"` lets the server
    /// choose it. Returns `nil` only with `makeStream: false` on a missing stream.
    @inlinable @discardableResult
    public func xadd<Field: BulkStringConvertible, Value: BulkStringConvertible>(
        _ key: some BulkStringConvertible, _ fields: [(field: Field, value: Value)], id: String = "*",
        makeStream: Bool = true, trim: XADD.Trim? = nil
    ) async throws(GlideError) -> String? {
        let selector: XADD.IdSelector = id == "*" ? .autoId : .id(BulkString(id))
        return try await execute(
            XADD(
                key, nomkstream: !makeStream, trim: trim, idSelector: selector,
                data: fields.map { XADD.Data(field: $0.field, value: $0.value) }))
    }

    /// The number of entries.
    @inlinable
    public func xlen(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(XLEN(key))
    }

    /// Entries with IDs from `start` to `end` (`"-"` and `"+"` for the ends), oldest first.
    @inlinable
    public func xrange(_ key: some BulkStringConvertible, _ start: String = "-", _ end: String = "+", count: Int? = nil)
        async throws(GlideError) -> [StreamEntry]
    {
        try await execute(XRANGE(key, start, end, count: count))
    }

    /// Entries with IDs from `end` down to `start`, newest first.
    @inlinable
    public func xrevrange(_ key: some BulkStringConvertible, _ end: String = "+", _ start: String = "-", count: Int? = nil)
        async throws(GlideError) -> [StreamEntry]
    {
        try await execute(XREVRANGE(key, end, start, count: count))
    }

    /// Removes entries by ID; returns how many there were.
    @inlinable @discardableResult
    public func xdel<IDs: Sequence>(_ key: some BulkStringConvertible, _ ids: IDs) async throws(GlideError) -> Int
    where IDs.Element: BulkStringConvertible {
        try await execute(XDEL(key, ids))
    }

    /// Trims the stream to about `maxLength` entries; returns how many were removed.
    @inlinable @discardableResult
    public func xtrim(_ key: some BulkStringConvertible, maxLength: Int, approximate: Bool = false) async throws(GlideError) -> Int {
        try await execute(
            XTRIM(
                key,
                trim: XTRIM.Trim(
                    strategy: .maxlen, operator: approximate ? .approximately : nil,
                    threshold: maxLength)))
    }

    /// Entries after the given IDs (`"$"` for new ones only) of several streams; with `block`,
    /// waits that long for one (zero: forever). `nil` when nothing arrived.
    @inlinable
    public func xread(_ streams: [(key: String, id: String)], count: Int? = nil, block: Duration? = nil)
        async throws(GlideError) -> StreamsReadResult?
    {
        try await execute(
            XREAD(
                count: count, milliseconds: block.map(Self.milliseconds),
                streams: XREAD.Streams(keys: streams.map(\.key), ids: streams.map(\.id))
            )
            .decoding(as: StreamsReadResult?.self))
    }

    /// Entries for `consumer` of `group`: `">"` reads new entries, another ID re-reads the
    /// consumer's pending ones. `nil` when nothing arrived within `block`.
    @inlinable
    public func xreadgroup(
        group: String, consumer: String, _ streams: [(key: String, id: String)], count: Int? = nil,
        block: Duration? = nil, noAck: Bool = false
    ) async throws(GlideError) -> StreamsReadResult? {
        try await execute(
            XREADGROUP(
                groupBlock: XREADGROUP.GroupBlock(group: group, consumer: consumer), count: count,
                milliseconds: block.map(Self.milliseconds), noack: noAck,
                streams: XREADGROUP.Streams(keys: streams.map(\.key), ids: streams.map(\.id))
            )
            .decoding(as: StreamsReadResult?.self))
    }

    /// Creates a consumer group that starts after `id` (`"$"`: new entries only; `"0"`: all).
    @inlinable
    public func xgroupCreate(
        _ key: some BulkStringConvertible, group: some BulkStringConvertible, id: String = "$",
        makeStream: Bool = false
    ) async throws(GlideError) {
        let selector: XGROUP.CREATE.IdSelector = id == "$" ? .newId : .id(BulkString(id))
        try await execute(XGROUP.CREATE(key, group, idSelector: selector, mkstream: makeStream))
    }

    /// Deletes a consumer group; returns whether it existed.
    @inlinable @discardableResult
    public func xgroupDestroy(_ key: some BulkStringConvertible, group: some BulkStringConvertible) async throws(GlideError) -> Bool {
        try await execute(XGROUP.DESTROY(key, group))
    }

    /// Acknowledges entries for `group`; returns how many were pending.
    @inlinable @discardableResult
    public func xack<IDs: Sequence>(_ key: some BulkStringConvertible, group: some BulkStringConvertible, _ ids: IDs)
        async throws(GlideError) -> Int where IDs.Element: BulkStringConvertible
    {
        try await execute(XACK(key, group, ids))
    }

    /// The pending-entries summary of `group`: the count, the smallest and largest IDs, and the
    /// count per consumer.
    @inlinable
    public func xpending(_ key: some BulkStringConvertible, group: some BulkStringConvertible) async throws(GlideError) -> RESPValue {
        try await execute(XPENDING(key, group))
    }

    @usableFromInline
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
