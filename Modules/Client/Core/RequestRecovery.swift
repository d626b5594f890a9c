import GlideConnection
import GlideTransport

/// What both clients' request state machines share: whether a request whose connection failed is
/// tried again, and the pause before a request waiting for a node (`LOADING`, `TRYAGAIN`) is sent
/// again. What an error reply means is `ErrorReplyMeaning`'s.
enum RequestRecovery: Equatable, Sendable {
    /// Try again where the client's view of its nodes then says; `refresh` first refreshes that
    /// view (the cluster topology, or the standalone nodes' roles).
    case retry(refresh: Bool)
    /// The error stands.
    case fail

    /// The pause before the `attempt`-th wait (from zero): 10 ms, doubling, at most 160 ms.
    static func backoff(attempt: Int) -> Duration {
        .milliseconds(10 << min(max(attempt, 0), 4))
    }

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
}
