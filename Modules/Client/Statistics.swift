import Synchronization

/// Process-wide counts of connections, clients and pub/sub events, as `getStatistics()` reports them.
public struct GlideStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Open connections across every client in the process.
    public let totalConnections: Int
    /// Clients created and not yet closed, of either kind.
    public let totalClients: Int
    /// Published messages dropped because a consumer of `pubsubMessages` fell a full buffer behind.
    public let pubsubMessagesDropped: Int
    /// Times a subscriber connection was found without subscriptions it should have (lost with
    /// the connection, or removed by the server) and they were made again.
    public let pubsubResubscriptions: Int

    /// The counts under GLIDE's names (`total_connections`, `total_clients`) and ours.
    public var dictionary: [String: Int] {
        ["total_connections": totalConnections, "total_clients": totalClients,
         "pubsub_messages_dropped": pubsubMessagesDropped, "pubsub_resubscriptions": pubsubResubscriptions]
    }

    /// Every count.
    public var description: String {
        "total_connections: \(totalConnections), total_clients: \(totalClients), "
            + "pubsub_messages_dropped: \(pubsubMessagesDropped), pubsub_resubscriptions: \(pubsubResubscriptions)"
    }

    static let connections = Atomic<Int>(0)
    static let clients = Atomic<Int>(0)
    static let pubsubMessagesDropped = Atomic<Int>(0)
    static let pubsubResubscriptions = Atomic<Int>(0)

    /// The counts now.
    static var current: GlideStatistics {
        GlideStatistics(totalConnections: connections.load(ordering: .relaxed),
                        totalClients: clients.load(ordering: .relaxed),
                        pubsubMessagesDropped: pubsubMessagesDropped.load(ordering: .relaxed),
                        pubsubResubscriptions: pubsubResubscriptions.load(ordering: .relaxed))
    }
}
