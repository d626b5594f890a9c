import Synchronization

/// Process-wide counts of connections and clients, as `getStatistics()` reports them.
public struct GlideStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Open connections across every client in the process.
    public let totalConnections: Int
    /// Clients created and not yet closed, of either kind.
    public let totalClients: Int

    /// The counts under GLIDE's names: `total_connections` and `total_clients`.
    public var dictionary: [String: Int] {
        ["total_connections": totalConnections, "total_clients": totalClients]
    }

    /// Both counts.
    public var description: String { "total_connections: \(totalConnections), total_clients: \(totalClients)" }

    static let connections = Atomic<Int>(0)
    static let clients = Atomic<Int>(0)

    /// The counts now.
    static var current: GlideStatistics {
        GlideStatistics(totalConnections: connections.load(ordering: .relaxed),
                        totalClients: clients.load(ordering: .relaxed))
    }
}
