import GlideTransport

/// What to do after a request to a cluster node failed. `ClusterRecovery.decide` is the one
/// place that decides whether a cluster request is retried, and how.
enum ClusterRecovery: Equatable, Sendable {
    /// The slot moved (`MOVED`): patch the slot map, ask for a refresh, retry at the new owner.
    case moved(slot: UInt16, to: NodeAddress)
    /// The slot is being migrated and this key already left (`ASK`): retry once at `target`,
    /// preceded by `ASKING`; the slot map is unchanged.
    case ask(NodeAddress)
    /// Try again after `delay`, when the deadline allows; `refresh` asks for a topology refresh
    /// first (the node is gone, or is no longer what the map says).
    case retry(after: Duration, refresh: Bool)
    /// Give up: the error stands.
    case fail

    /// Redirections followed before a request gives up: enough for a migration and a failover
    /// at once, few enough that a loop between confused nodes ends.
    static let maximumRedirections = 5

    /// Waits before a request gives up even when its deadline is far (a blocking command that
    /// may wait forever): at most 160 ms each, about half a minute in all.
    static let maximumWaits = 200

    /// The pause before the `attempt`-th wait-and-retry (from zero): 10 ms, doubling, at most 160 ms.
    static func backoff(attempt: Int) -> Duration {
        RequestRecovery.backoff(attempt: attempt)
    }

    /// The recovery from a server error reply `message` (such as `MOVED 3999 127.0.0.1:7002`)
    /// to a request sent to `node`, after `redirections` redirections and `waits` waits.
    static func decide(serverError message: String, from node: NodeAddress, redirections: Int, waits: Int) -> ClusterRecovery {
        let parts = message.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        guard let code = parts.first else { return .fail }
        if waits >= maximumWaits && code != "MOVED" && code != "ASK" { return .fail }
        switch code {
        case "MOVED", "ASK":
            guard redirections < maximumRedirections, parts.count >= 3, let slot = UInt16(parts[1]), slot < 16384,
                  var target = NodeAddress(parsing: parts[2]) else { return .fail }
            // An empty host means the host of the node that answered.
            if target.host.isEmpty { target.host = node.host }
            return code == "MOVED" ? .moved(slot: slot, to: target) : .ask(target)
        case "TRYAGAIN", "LOADING":
            // A multi-key request during a migration, or a node still loading its data: wait.
            return .retry(after: backoff(attempt: waits), refresh: false)
        case "CLUSTERDOWN", "MASTERDOWN":
            // Slots unserved for now (a failover in progress): wait, and look at the topology again.
            return .retry(after: backoff(attempt: waits), refresh: true)
        case "READONLY":
            // A write reached a replica: the map is stale (the primary failed over).
            return .retry(after: backoff(attempt: waits), refresh: true)
        default:
            return .fail
        }
    }

    /// The recovery from a failure of the connection itself.
    ///
    /// A request that was never sent (`connectionFailed`: the node can't be reached) is retried
    /// once the topology is refreshed: the slot may have a new owner. A request lost in flight
    /// (`connectionClosed`) may have run; only a read-only one is retried. Timeouts are final.
    static func decide(connectionError error: GlideError, readOnly: Bool, waits: Int) -> ClusterRecovery {
        guard waits < maximumWaits else { return .fail }
        // Whether it may be sent again at all is what both clients share.
        switch RequestRecovery.decide(connectionError: error, readOnly: readOnly, attempts: waits) {
        case .retry(let refresh): return .retry(after: backoff(attempt: waits), refresh: refresh)
        case .wait(let pause): return .retry(after: pause, refresh: false)
        case .fail: return .fail
        }
    }
}
