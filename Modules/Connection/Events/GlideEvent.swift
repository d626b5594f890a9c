public import GlideTransport

/// Something that happened to a client's connections or its view of the servers, as `events()`
/// streams it and the logger hears it.
public enum GlideEvent: Sendable, Hashable, CustomStringConvertible {
    /// A connection to the node is ready: handshake done, requests flowing.
    case connectionReady(NodeAddress)
    /// A ready connection to the node was lost; it is reconnected in the background.
    case connectionLost(NodeAddress, reason: String)
    /// An attempt to connect to the node failed (`failures` in a row); the next attempt is
    /// `retryIn` away, or none (`nil`) when the failure is definitive (a wrong password).
    case connectAttemptFailed(NodeAddress, reason: String, failures: Int, retryIn: Duration?)
    /// The node joined the client's view of the cluster.
    case nodeAdded(NodeAddress)
    /// The node left the client's view of the cluster.
    case nodeRemoved(NodeAddress)
    /// The slots moved from one primary to another (a reshard, or a slot migration finished);
    /// `nil` where no node served them.
    case slotsMoved(ClosedRange<UInt16>, from: NodeAddress?, to: NodeAddress?)
    /// A replica became the primary: of a cluster shard, of the standalone nodes, or of the
    /// sentinels' primary. `from` is the primary before it, when the client knew one.
    case failover(from: NodeAddress?, to: NodeAddress)
    /// Subscriptions a connection had lost (or the server dropped) were made again.
    case pubsubResubscribed
    /// The client-side cache was emptied, and why (a lost connection, `SELECT`, a flush).
    case cacheFlushed(reason: String)
    /// The node's circuit breaker opened: its requests fail at once for a while.
    case circuitBreakerOpened(NodeAddress)
    /// The node's circuit breaker closed again after a successful probe.
    case circuitBreakerClosed(NodeAddress)

    /// The event's kind in snake case, as the `glide.events` metric's `event` dimension names it.
    public var kind: String {
        switch self {
        case .connectionReady: "connection_ready"
        case .connectionLost: "connection_lost"
        case .connectAttemptFailed: "connect_attempt_failed"
        case .nodeAdded: "node_added"
        case .nodeRemoved: "node_removed"
        case .slotsMoved: "slots_moved"
        case .failover: "failover"
        case .pubsubResubscribed: "pubsub_resubscribed"
        case .cacheFlushed: "cache_flushed"
        case .circuitBreakerOpened: "circuit_breaker_opened"
        case .circuitBreakerClosed: "circuit_breaker_closed"
        }
    }

    /// The event in one line, as the log shows it.
    public var description: String {
        switch self {
        case .connectionReady(let node): "connection to \(node) ready"
        case .connectionLost(let node, let reason): "connection to \(node) lost: \(reason)"
        case .connectAttemptFailed(let node, let reason, let failures, let retryIn):
            "connecting to \(node) failed (\(failures) in a row): \(reason); "
                + (retryIn.map { "next attempt in \($0)" } ?? "no further attempt")
        case .nodeAdded(let node): "node \(node) added"
        case .nodeRemoved(let node): "node \(node) removed"
        case .slotsMoved(let slots, let from, let to):
            "slots \(slots.lowerBound)-\(slots.upperBound) moved from \(from?.description ?? "no node") to \(to?.description ?? "no node")"
        case .failover(let from, let to): "failover: \(to) is the primary" + (from.map { " in place of \($0)" } ?? "")
        case .pubsubResubscribed: "pub/sub subscriptions made again"
        case .cacheFlushed(let reason): "client-side cache flushed: \(reason)"
        case .circuitBreakerOpened(let node): "circuit breaker of \(node) opened"
        case .circuitBreakerClosed(let node): "circuit breaker of \(node) closed"
        }
    }
}
