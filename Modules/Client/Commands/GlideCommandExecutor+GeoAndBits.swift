import GlideConnection

extension GlideCommandExecutor {
    /// Adds members at longitude and latitude; returns how many were added.
    @inlinable @discardableResult
    public func geoadd<Member: BulkStringConvertible & Hashable>(
        _ key: some BulkStringConvertible, _ members: [Member: (longitude: Double, latitude: Double)],
        condition: GEOADD.Condition? = nil, changed: Bool = false
    ) async throws(GlideError) -> Int {
        try await execute(
            GEOADD(
                key, condition: condition, change: changed,
                data: members.map {
                    GEOADD.Data(longitude: $0.value.longitude, latitude: $0.value.latitude, member: $0.key)
                }))
    }

    /// The distance between two members, or `nil` when one is missing.
    @inlinable
    public func geodist(
        _ key: some BulkStringConvertible, _ member1: some BulkStringConvertible,
        _ member2: some BulkStringConvertible, unit: GEODIST.Unit? = nil
    ) async throws(GlideError) -> Double? {
        try await execute(GEODIST(key, member1, member2, unit: unit))
    }

    /// The positions of `members`, `nil` for missing ones.
    @inlinable
    public func geopos<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> [GeoPosition?]
    where Members.Element: BulkStringConvertible {
        try await execute(GEOPOS(key, members: members))
    }

    /// The geohash strings of `members`.
    @inlinable
    public func geohash<Members: Sequence>(_ key: some BulkStringConvertible, _ members: Members) async throws(GlideError) -> [String?]
    where Members.Element: BulkStringConvertible {
        try await execute(GEOHASH(key, members: members))
    }

    /// The members within `shape` of `origin`, nearest first unless `order` says otherwise.
    @inlinable
    public func geosearch(
        _ key: some BulkStringConvertible, from origin: GEOSEARCH.From, by shape: GEOSEARCH.By,
        order: GEOSEARCH.Order? = .asc, count: Int? = nil
    ) async throws(GlideError) -> [String] {
        try await execute(
            GEOSEARCH(
                key, from: origin, by: shape, order: order,
                countBlock: count.map { GEOSEARCH.CountBlock(count: $0) }
            ).decoding(as: [String].self))
    }

    /// Adds `elements` to the HyperLogLog; returns whether its estimate changed.
    @inlinable @discardableResult
    public func pfadd<Elements: Sequence>(_ key: some BulkStringConvertible, _ elements: Elements) async throws(GlideError) -> Bool
    where Elements.Element: BulkStringConvertible {
        try await execute(PFADD(key, elements: elements))
    }

    /// The estimated number of distinct elements in the union of `keys`.
    @inlinable
    public func pfcount<Keys: Sequence>(_ keys: Keys) async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible {
        try await execute(PFCOUNT(keys))
    }

    /// Merges `sources` into `destination`.
    @inlinable
    public func pfmerge<Sources: Sequence>(_ destination: some BulkStringConvertible, _ sources: Sources) async throws(GlideError)
    where Sources.Element: BulkStringConvertible {
        try await execute(PFMERGE(destination, sourcekeys: sources))
    }

    /// Sets the bit at `offset`; returns its previous value.
    @inlinable @discardableResult
    public func setbit(_ key: some BulkStringConvertible, _ offset: Int, _ value: Int) async throws(GlideError) -> Int {
        try await execute(SETBIT(key, offset: offset, value: value))
    }

    /// The bit at `offset`.
    @inlinable
    public func getbit(_ key: some BulkStringConvertible, _ offset: Int) async throws(GlideError) -> Int {
        try await execute(GETBIT(key, offset: offset))
    }

    /// The number of set bits, optionally in a byte (or bit) range.
    @inlinable
    public func bitcount(_ key: some BulkStringConvertible, range: BITCOUNT.Range? = nil) async throws(GlideError) -> Int {
        try await execute(BITCOUNT(key, range: range))
    }

    /// The position of the first bit set to `bit` (0 or 1), or -1.
    @inlinable
    public func bitpos(_ key: some BulkStringConvertible, _ bit: Int, range: BITPOS.Range? = nil) async throws(GlideError) -> Int {
        try await execute(BITPOS(key, bit: bit, range: range))
    }

    /// Combines the bits of `keys` into `destination`; returns the result's length in bytes.
    @inlinable @discardableResult
    public func bitop<Keys: Sequence>(_ operation: BITOP.Operation, destination: some BulkStringConvertible, _ keys: Keys)
        async throws(GlideError) -> Int where Keys.Element: BulkStringConvertible
    {
        try await execute(BITOP(operation: operation, destkey: destination, keys: keys))
    }
}
