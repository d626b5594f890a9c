package import Synchronization

/// Process-wide counts of connections, clients and pub/sub events, as `getStatistics()` reports them.
public struct GlideStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Open connections across every client in the process.
    public let totalConnections: Int
    /// Clients created and not yet closed, of either kind.
    public let totalClients: Int
    /// Published messages dropped because a consumer of `pubsubMessages()` fell a full buffer behind.
    public let pubsubMessagesDropped: Int
    /// Times a subscriber connection was found without subscriptions it should have (lost with
    /// the connection, or removed by the server) and they were made again.
    public let pubsubResubscriptions: Int
    /// Ready connections that were lost (each is reconnected in the background).
    public let reconnects: Int
    /// Connection attempts that failed.
    public let connectionFailures: Int
    /// Requests redirected by `MOVED` or `ASK`.
    public let redirections: Int
    /// Requests tried again after a transient error (`TRYAGAIN`, `LOADING`, `READONLY`, a lost
    /// or missing connection, …).
    public let retries: Int
    /// Changed cluster topologies adopted.
    public let topologyRefreshes: Int
    /// RESP3 pushes dropped because no server sends them so: no kind, or a message of the wrong
    /// shape.
    public let malformedPushes: Int
    /// Times a node's circuit breaker opened.
    public let circuitBreakerOpenings: Int
    /// Requests failed at once by an open circuit breaker (`.circuitOpen`).
    public let circuitBreakerRejections: Int
    /// Events dropped because a consumer of `events()` fell a full buffer behind.
    public let eventsDropped: Int

    /// The counts under GLIDE's names (`total_connections`, `total_clients`) and ours.
    public var dictionary: [String: Int] {
        [
            "total_connections": totalConnections, "total_clients": totalClients,
            "pubsub_messages_dropped": pubsubMessagesDropped, "pubsub_resubscriptions": pubsubResubscriptions,
            "reconnects": reconnects, "connection_failures": connectionFailures, "redirections": redirections,
            "retries": retries, "topology_refreshes": topologyRefreshes, "malformed_pushes": malformedPushes,
            "circuit_breaker_openings": circuitBreakerOpenings, "circuit_breaker_rejections": circuitBreakerRejections,
            "events_dropped": eventsDropped,
        ]
    }

    /// Every count.
    public var description: String {
        "total_connections: \(totalConnections), total_clients: \(totalClients), "
            + "pubsub_messages_dropped: \(pubsubMessagesDropped), pubsub_resubscriptions: \(pubsubResubscriptions), "
            + "reconnects: \(reconnects), connection_failures: \(connectionFailures), redirections: \(redirections), "
            + "retries: \(retries), topology_refreshes: \(topologyRefreshes), malformed_pushes: \(malformedPushes), "
            + "circuit_breaker_openings: \(circuitBreakerOpenings), circuit_breaker_rejections: \(circuitBreakerRejections), "
            + "events_dropped: \(eventsDropped)"
    }

    package static let connections = Atomic<Int>(0)
    package static let clients = Atomic<Int>(0)
    package static let pubsubMessagesDropped = Atomic<Int>(0)
    package static let pubsubResubscriptions = Atomic<Int>(0)
    package static let reconnects = Atomic<Int>(0)
    package static let connectionFailures = Atomic<Int>(0)
    package static let redirections = Atomic<Int>(0)
    package static let retries = Atomic<Int>(0)
    package static let topologyRefreshes = Atomic<Int>(0)
    package static let malformedPushes = Atomic<Int>(0)
    package static let circuitBreakerOpenings = Atomic<Int>(0)
    package static let circuitBreakerRejections = Atomic<Int>(0)
    package static let eventsDropped = Atomic<Int>(0)

    /// The counts now.
    package static var current: GlideStatistics {
        GlideStatistics(
            totalConnections: connections.load(ordering: .relaxed),
            totalClients: clients.load(ordering: .relaxed),
            pubsubMessagesDropped: pubsubMessagesDropped.load(ordering: .relaxed),
            pubsubResubscriptions: pubsubResubscriptions.load(ordering: .relaxed),
            reconnects: reconnects.load(ordering: .relaxed),
            connectionFailures: connectionFailures.load(ordering: .relaxed),
            redirections: redirections.load(ordering: .relaxed),
            retries: retries.load(ordering: .relaxed),
            topologyRefreshes: topologyRefreshes.load(ordering: .relaxed),
            malformedPushes: malformedPushes.load(ordering: .relaxed),
            circuitBreakerOpenings: circuitBreakerOpenings.load(ordering: .relaxed),
            circuitBreakerRejections: circuitBreakerRejections.load(ordering: .relaxed),
            eventsDropped: eventsDropped.load(ordering: .relaxed))
    }
}
