import GlideConnection
import GlideTransport

/// Whether a failed request is tried again: the one place both clients ask. (The cluster
/// client's redirections and waits, `MOVED`, `ASK`, `TRYAGAIN` and the rest, are decided by
/// `ClusterRequestStateMachine`, which asks this for what the two clients share.)
enum RequestRecovery: Equatable, Sendable {
    /// Try again where the client's view of its nodes then says; `refresh` first refreshes that
    /// view (the cluster topology, or the standalone nodes' roles).
    case retry(refresh: Bool)
    /// Try the same node again after `after`, if the deadline leaves time (it is loading).
    case wait(after: Duration)
    /// The error stands.
    case fail

    /// The pause before the `attempt`-th wait (from zero): 10 ms, doubling, at most 160 ms.
    static func backoff(attempt: Int) -> Duration {
        .milliseconds(10 << min(max(attempt, 0), 4))
    }

    /// Attempts of one standalone request after which it gives up, whatever its deadline.
    static let maximumAttempts = 3

    /// After a failure of the connection itself.
    ///
    /// A request never sent (`.connectionFailed`: no connection, or its node stopped being the
    /// one to ask) may go elsewhere, after a refresh. One lost in flight (`.connectionClosed`) may
    /// have run: only a read is tried again. Timeouts, cancellation, closing, credentials and
    /// settings are final.
    static func decide(connectionError error: GlideError, readOnly: Bool, attempts: Int) -> RequestRecovery {
        switch error.code {
        case .connectionFailed:
            return .retry(refresh: true)
        case .connectionClosed where readOnly && attempts < 2:
            return .retry(refresh: true)
        default:
            return .fail
        }
    }

    /// After a server error whose code (first word) is `code`, on a standalone node. `READONLY`
    /// means a write reached a node that is no longer a primary, and did not run: it goes where
    /// the roles now say. `LOADING` means the node is loading its data (after a restart): the
    /// request did not run, and waits. (A cluster node's errors are `ClusterRequestStateMachine`'s.)
    static func decide(serverErrorCode code: String?, attempts: Int, waits: Int) -> RequestRecovery {
        switch code {
        case "READONLY" where attempts < maximumAttempts: .retry(refresh: true)
        case "LOADING": .wait(after: backoff(attempt: waits))
        default: .fail
        }
    }
}
