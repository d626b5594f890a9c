import GlideConnection

extension GlideCommandExecutor {
    /// Prepends `elements` (the last one ends up first); returns the new length.
    @inlinable @discardableResult
    public func lpush<Elements: Sequence>(_ key: some BulkStringConvertible, _ elements: Elements) async throws(GlideError) -> Int
    where Elements.Element: BulkStringConvertible {
        try await execute(LPUSH(key, elements))
    }

    /// Appends `elements`; returns the new length.
    @inlinable @discardableResult
    public func rpush<Elements: Sequence>(_ key: some BulkStringConvertible, _ elements: Elements) async throws(GlideError) -> Int
    where Elements.Element: BulkStringConvertible {
        try await execute(RPUSH(key, elements))
    }

    /// Removes and returns the first element, or `nil` when the list is empty.
    @inlinable
    public func lpop<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> Value?
    {
        try await execute(LPOP(key).decoding(as: Value?.self))
    }

    /// Removes and returns up to `count` elements from the front.
    @inlinable
    public func lpop<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, count: Int, as: Value.Type = String.self)
        async throws(GlideError) -> [Value]
    {
        try await execute(LPOP(key, count: count).decoding(as: [Value]?.self)) ?? []
    }

    /// Removes and returns the last element, or `nil` when the list is empty.
    @inlinable
    public func rpop<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> Value?
    {
        try await execute(RPOP(key).decoding(as: Value?.self))
    }

    /// Removes and returns up to `count` elements from the back.
    @inlinable
    public func rpop<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, count: Int, as: Value.Type = String.self)
        async throws(GlideError) -> [Value]
    {
        try await execute(RPOP(key, count: count).decoding(as: [Value]?.self)) ?? []
    }

    /// The elements from `start` to `stop`, inclusive; negative indices count from the end.
    @inlinable
    public func lrange<Value: RESPTokenDecodable>(
        _ key: some BulkStringConvertible, _ start: Int, _ stop: Int,
        as: Value.Type = String.self
    ) async throws(GlideError) -> [Value] {
        try await execute(LRANGE(key, start: start, stop: stop).decoding(as: [Value].self))
    }

    /// The length of the list.
    @inlinable
    public func llen(_ key: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(LLEN(key))
    }

    /// The element at `index`, or `nil`.
    @inlinable
    public func lindex<Value: RESPTokenDecodable>(_ key: some BulkStringConvertible, _ index: Int, as: Value.Type = String.self)
        async throws(GlideError) -> Value?
    {
        try await execute(LINDEX(key, index: index).decoding(as: Value?.self))
    }

    /// Removes `count` occurrences of `element` (0: all; negative: from the back); returns how many.
    @inlinable @discardableResult
    public func lrem(_ key: some BulkStringConvertible, count: Int, _ element: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(LREM(key, count: count, element: element))
    }

    /// Keeps only the elements from `start` to `stop`.
    @inlinable
    public func ltrim(_ key: some BulkStringConvertible, _ start: Int, _ stop: Int) async throws(GlideError) {
        try await execute(LTRIM(key, start: start, stop: stop))
    }

    /// Replaces the element at `index`.
    @inlinable
    public func lset(_ key: some BulkStringConvertible, _ index: Int, _ element: some BulkStringConvertible) async throws(GlideError) {
        try await execute(LSET(key, index: index, element: element))
    }

    /// Removes the first element of the first non-empty list among `keys`, waiting up to `timeout`
    /// seconds (0: forever); returns the key and the element, or `nil` on timeout.
    @inlinable
    public func blpop<Keys: Sequence, Value: RESPTokenDecodable>(_ keys: Keys, timeout: Double, as: Value.Type = String.self)
        async throws(GlideError) -> (key: String, element: Value)?
    where Keys.Element: BulkStringConvertible {
        guard let popped = try await execute(BLPOP(keys, timeout: timeout).decoding(as: KeyedElement<Value>?.self)) else {
            return nil
        }
        return (popped.key.string, popped.element)
    }

    /// Removes the last element of the first non-empty list among `keys`, waiting up to
    /// `timeout` seconds (0: forever); returns the key and the element, or `nil` on timeout.
    @inlinable
    public func brpop<Keys: Sequence, Value: RESPTokenDecodable>(_ keys: Keys, timeout: Double, as: Value.Type = String.self)
        async throws(GlideError) -> (key: String, element: Value)?
    where Keys.Element: BulkStringConvertible {
        guard let popped = try await execute(BRPOP(keys, timeout: timeout).decoding(as: KeyedElement<Value>?.self)) else {
            return nil
        }
        return (popped.key.string, popped.element)
    }

    /// Moves an element from one end of `source` to one end of `destination`; returns it.
    @inlinable
    public func lmove(
        _ source: some BulkStringConvertible, _ destination: some BulkStringConvertible,
        from: LMOVE.Wherefrom, to: LMOVE.Whereto
    ) async throws(GlideError) -> String? {
        try await execute(LMOVE(source, destination, wherefrom: from, whereto: to).decoding(as: String?.self))
    }

    /// The index of the first match of `element` (the `rank`th one; negative searches from the
    /// back), or `nil`.
    @inlinable
    public func lpos(
        _ key: some BulkStringConvertible, _ element: some BulkStringConvertible, rank: Int? = nil,
        maxLength: Int? = nil
    ) async throws(GlideError) -> Int? {
        try await execute(LPOS(key, element, rank: rank, len: maxLength).decoding(as: Int?.self))
    }
}
