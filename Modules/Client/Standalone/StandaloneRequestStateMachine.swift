import GlideConnection
import GlideTransport

/// One standalone request's attempts, as a pure state machine: after each failed attempt,
/// whether the request is sent again, where and when, or fails. It never touches a connection or
/// a clock (the owner gives it the loop's `now`), so its tests are transcripts and a manual
/// loop's test decides when a pause ends. `StandaloneSender` performs what it says.
///
/// - `REDIRECT` (a replica, told the client follows redirections, naming its primary): the
///   request, which never ran, goes to that node at once, and the nodes are asked for their roles.
/// - A write answered `READONLY` reached a primary that was demoted (as `MASTERDOWN` means a
///   replica that lost its primary): the nodes are asked for their roles, and the request, which
///   never ran, goes where the routes then say.
/// - `LOADING` (a restarted node loading its data): the request did not run, and is sent to the
///   same node again after a pause (10 ms, doubling up to 160 ms) within its deadline.
/// - A request never sent (`.connectionFailed`) goes where the routes now say; a read lost in
///   flight is read again; a write lost in flight may have run, and fails.
/// - Any other error reply is the answer. `ErrorReplyMeaning` reads the replies, as it does for
///   the cluster client.
struct StandaloneRequestStateMachine: Sendable {
    /// What the owner does next.
    enum Action: Sendable {
        /// The reply is the answer, an error reply included.
        case reply
        /// Send again where the routes then say, after asking the nodes for their roles when
        /// `refresh`. Unless `sameNodeAllowed`, a retry that would reach the same node again
        /// fails with `failure` instead.
        case retry(refresh: Bool, sameNodeAllowed: Bool, failure: GlideError)
        /// Send to the node at `to`, which a replica named as its primary, and have the nodes
        /// asked for their roles; where the client has no connection to it, as `retry` does.
        case redirect(to: NodeAddress, failure: GlideError)
        /// Send to the same node again at `until`; `failure` is what it answered.
        case wait(until: Deadline, failure: GlideError)
        /// The request fails with this error.
        case fail(GlideError)
    }

    /// Attempts of one request after which it gives up, whatever its deadline.
    static let maximumAttempts = 3

    /// Whether the request only reads (a read lost in flight may be sent again).
    let readOnly: Bool
    /// When the request must be answered by, on the loop's clock.
    let deadline: Deadline
    /// Retries to another node so far.
    private(set) var attempts = 0
    /// Pauses for a loading node so far.
    private(set) var waits = 0

    init(readOnly: Bool, deadline: Deadline) {
        self.readOnly = readOnly
        self.deadline = deadline
    }

    /// An attempt was answered with the error reply `error` (for a transaction, the error that
    /// aborted it).
    mutating func errorReplied(_ error: GlideError, now: Deadline) -> Action {
        switch ErrorReplyMeaning.classify(serverError: error.message, from: nil) {
        case .wait(refresh: false):
            let until = now + RequestRecovery.backoff(attempt: waits)
            guard until < deadline else {
                return .fail(
                    GlideError(
                        .timeout, "the request timed out waiting for the node: \(error.message)",
                        serverCode: error.serverCode, address: error.address))
            }
            waits += 1
            return .wait(until: until, failure: error)
        case .wait(refresh: true):
            return retry(after: error, sameNodeAllowed: false, now: now) ?? .fail(error)
        case .redirect(let target):
            guard case .retry = retry(after: error, sameNodeAllowed: false, now: now) else { return .fail(error) }
            return .redirect(to: target, failure: error)
        case .moved, .ask, .final:
            return .reply
        }
    }

    /// An attempt failed without a reply: its connection failed, or was lost in flight.
    mutating func failed(_ error: GlideError, now: Deadline) -> Action {
        guard case .retry = RequestRecovery.decide(connectionError: error, readOnly: readOnly, attempts: attempts) else {
            return .fail(error)
        }
        // Never sent: worth sending only where the routes now point elsewhere. A read lost in
        // flight may be read again on its reconnected node.
        return retry(after: error, sameNodeAllowed: error.code == .connectionClosed, now: now) ?? .fail(error)
    }

    private mutating func retry(after failure: GlideError, sameNodeAllowed: Bool, now: Deadline) -> Action? {
        guard attempts + 1 < Self.maximumAttempts, now < deadline else { return nil }
        attempts += 1
        return .retry(refresh: true, sameNodeAllowed: sameNodeAllowed, failure: failure)
    }
}
