import GlideConnection
import GlideTopology
import GlideTransport

/// Where a client's subscriptions live, and what a refusal means: the seam between
/// `PubSubSynchronizer` and the client's routing.
protocol PubSubPlacement: Sendable {
    associatedtype Loop: EventLoop
    associatedtype Connector: StreamConnector
    typealias Connection = NodeConnection<Loop, Connector>

    /// A usable node for exact and pattern subscriptions, when they have none yet or theirs left.
    func anyNode() -> Connection?
    /// Whether `connection` still serves the client (a node of the cluster, not down), so
    /// subscriptions may stay there.
    func isUsable(_ connection: Connection) -> Bool
    /// Whether `connection` is still one of the client's, up or down: subscriptions on a
    /// connection that left need no unsubscribing.
    func isMember(_ connection: Connection) -> Bool
    /// The primary serving `slot`, for sharded channels; `nil` when none does (or not a cluster).
    func owner(ofSlot slot: UInt16) -> Connection?
    /// What the server's `error` to a subscription command on `connection` means.
    func retry(after error: GlideError, from connection: Connection) -> PubSubRetry
    /// Whether a subscribed connection answers `CLIENT INFO` (a RESP2 one answers only the
    /// subscription commands and `PING`), for the periodic check of the server's counts.
    var answersClientInfo: Bool { get }
    /// Called once before each plan: a chance to drop what belongs to nodes that left.
    func willPlan()
}

extension PubSubPlacement {
    /// Nothing to drop.
    func willPlan() {}
}

/// What a subscription command's failure leads to.
enum PubSubRetry: Equatable {
    /// The routing changed (`MOVED`): plan again at once.
    case now
    /// A transient condition (a connection down, a failover under way): the next repair retries.
    case later
    /// A refusal (an ACL without the channel): the subscription is dropped and reported.
    case never
}

/// A standalone client's placement: every subscription on the primary's connection, chosen at
/// the first subscription and kept through failovers (a replica still receives what its primary
/// publishes).
struct StandalonePlacement<Loop: EventLoop, Connector: StreamConnector>: PubSubPlacement {
    typealias Connection = NodeConnection<Loop, Connector>
    let routing: StandaloneRouting<Connection>
    /// RESP2's connections of their own, or none.
    let dedicated: DedicatedSubscribers<Connection>

    func anyNode() -> Connection? { dedicated.subscriber(for: routing.primary) }
    func isUsable(_ connection: Connection) -> Bool { isMember(connection) }
    func isMember(_ connection: Connection) -> Bool {
        guard let shared = dedicated.shared(of: connection) else { return false }
        return routing.all.contains { $0 === shared }
    }
    func owner(ofSlot slot: UInt16) -> Connection? { nil }
    var answersClientInfo: Bool { !dedicated.isDedicated }

    func retry(after error: GlideError, from connection: Connection) -> PubSubRetry {
        switch error.serverCode {
        case "LOADING", "BUSY", "MASTERDOWN": .later
        default: .never
        }
    }
}

/// A cluster client's placement: exact and pattern subscriptions on one primary (the server
/// forwards every publication to every node), sharded ones on the primary serving the channel's
/// slot. A `MOVED` answer patches the slot map and asks for a refresh, as a request's does.
struct ClusterPlacement<Loop: EventLoop, Connector: NodeConnector>: PubSubPlacement {
    typealias Connection = NodeConnection<Loop, Connector>
    let nodes: ClusterNodes<Loop, Connector>
    let topologyManager: TopologyManager<Loop, Connector, ConnectionDiscovery<Loop, Connector>>
    /// RESP2's connections of their own, or none.
    let dedicated: DedicatedSubscribers<Connection>

    func anyNode() -> Connection? {
        guard let (_, shared) = nodes.anyNode(primaryOnly: true), nodes.isUsable(shared) else { return nil }
        return subscriber(for: shared)
    }

    func isUsable(_ connection: Connection) -> Bool { dedicated.shared(of: connection).map(nodes.isUsable) ?? false }
    func isMember(_ connection: Connection) -> Bool {
        dedicated.shared(of: connection).map { nodes.connection(to: $0.connector.address) === $0 } ?? false
    }
    func owner(ofSlot slot: UInt16) -> Connection? { nodes.connection(forSlot: slot, replica: false).map(subscriber(for:)) }
    var answersClientInfo: Bool { !dedicated.isDedicated }

    /// Retires the RESP2 subscriber connections of nodes that left.
    func willPlan() {
        if dedicated.isDedicated { dedicated.prune { nodes.connection(to: $0.connector.address) === $0 } }
    }

    /// `shared`'s subscriber connection.
    private func subscriber(for shared: Connection) -> Connection {
        dedicated.subscriber(for: shared)
    }

    func retry(after error: GlideError, from connection: Connection) -> PubSubRetry {
        switch ErrorReplyMeaning.classify(serverError: error.message, from: connection.connector.address) {
        case .moved(let slot, let address):
            nodes.applyMoved(slot: slot, to: address)
            topologyManager.requestRefresh()
            return .now
        case .ask, .wait(refresh: false):
            return .later
        case .wait(refresh: true):
            topologyManager.requestRefresh()
            return .later
        case .redirect, .final:
            return .never
        }
    }
}
