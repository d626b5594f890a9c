import GlideConnection

extension GlideClusterClient {
    /// The server's report for `sections` (the default set when empty), from each node `route`
    /// reaches: every primary unless told otherwise.
    public func info(_ sections: [InfoSection] = [], route: Route = .allPrimaries) async throws(GlideError) -> ClusterValue<String> {
        try await execute(INFO(sections: sections), route: route)
    }

    /// Pings the nodes `route` reaches; `PONG`, or `message`, from each (combined into one when
    /// the route reaches every node or every primary and all answer). Without a route,
    /// `ping()` pings every primary.
    public func ping(_ message: BulkString? = nil, route: Route) async throws(GlideError) -> ClusterValue<String> {
        try await execute(PING(message: message).decoding(as: String.self), route: route)
    }

    /// The ID of this client's connection to each node `route` reaches.
    public func clientId(route: Route) async throws(GlideError) -> ClusterValue<Int> {
        try await execute(CLIENT.ID(), route: route)
    }

    /// The number of topology refreshes this client has completed (periodic checks and
    /// refreshes asked for by redirections).
    public var topologyRefreshCount: Int { topologyManager.completedRefreshes.load(ordering: .relaxed) }
}
