import GlideConnection

extension GlideCommandExecutor {
    /// `PONG`, or `message` echoed back.
    @inlinable
    public func ping(_ message: BulkString? = nil) async throws(GlideError) -> String {
        try await execute(PING(message: message))
    }

    /// `message`, echoed back.
    @inlinable
    public func echo<Value: RESPTokenDecodable>(_ message: some BulkStringConvertible, as: Value.Type = String.self)
        async throws(GlideError) -> Value
    {
        try await execute(ECHO(message).decoding(as: Value.self))
    }

    /// The server's report for `sections` (the default set when empty).
    @inlinable
    public func info(_ sections: [InfoSection] = []) async throws(GlideError) -> String {
        try await execute(INFO(sections: sections))
    }

    /// The number of keys in the selected database.
    @inlinable
    public func dbsize() async throws(GlideError) -> Int {
        try await execute(DBSIZE())
    }

    /// Deletes every key of every database.
    @inlinable
    public func flushall(_ mode: FLUSHALL.FlushType? = nil) async throws(GlideError) {
        try await execute(FLUSHALL(flushType: mode))
    }

    /// Deletes every key of the selected database.
    @inlinable
    public func flushdb(_ mode: FLUSHDB.FlushType? = nil) async throws(GlideError) {
        try await execute(FLUSHDB(flushType: mode))
    }

    /// The server's clock: seconds and microseconds since the Unix epoch.
    @inlinable
    public func time() async throws(GlideError) -> (seconds: Int, microseconds: Int) {
        let parts = try await execute(TIME())
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }

    /// The Unix time of the last successful save.
    @inlinable
    public func lastsave() async throws(GlideError) -> Int {
        try await execute(LASTSAVE())
    }

    /// The configuration parameters matching `parameters` (glob patterns allowed).
    @inlinable
    public func configGet<Parameters: Sequence>(_ parameters: Parameters) async throws(GlideError) -> [String: String]
    where Parameters.Element: BulkStringConvertible {
        try await execute(CONFIG.GET(parameters))
    }

    /// Sets configuration parameters.
    @inlinable
    public func configSet<Parameter: BulkStringConvertible & Hashable, Value: BulkStringConvertible>(
        _ parameters: [Parameter: Value]
    ) async throws(GlideError) {
        try await execute(CONFIG.SET(data: parameters.map { CONFIG.SET.Data(parameter: $0.key, value: $0.value) }))
    }

    /// Resets the statistics `INFO` reports.
    @inlinable
    public func configResetStat() async throws(GlideError) {
        try await execute(CONFIG.RESETSTAT())
    }

    /// This connection's ID.
    @inlinable
    public func clientId() async throws(GlideError) -> Int {
        try await execute(CLIENT.ID())
    }

    /// This connection's name, or `nil`.
    @inlinable
    public func clientGetName() async throws(GlideError) -> String? {
        try await execute(CLIENT.GETNAME())
    }

    /// Watches `keys`: the next `exec` returns `nil` if one of them changes first.
    ///
    /// The connection is shared, so any transaction executed on this client by another task
    /// in between also ends the watch.
    @inlinable
    public func watch<Keys: Sequence>(_ keys: Keys) async throws(GlideError) where Keys.Element: BulkStringConvertible {
        try await execute(WATCH(keys))
    }

    /// Forgets every watched key.
    @inlinable
    public func unwatch() async throws(GlideError) {
        try await execute(UNWATCH())
    }
}
