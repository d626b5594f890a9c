/// What an owner adds to a `ConnectionSupervisor`'s work: a standalone client follows its nodes'
/// roles, for example. It runs where the supervisor does, on its loop's thread, and is told of
/// each connection event after the supervisor acted on it, so that it sees the connection's
/// backoff and state already updated.
public protocol SupervisionFollower<Connection>: AnyObject, Sendable {
    /// The connections the supervisor supervises.
    associatedtype Connection

    /// `connection` changed (on the supervisor's loop thread).
    func connectionChanged(_ connection: Connection, _ event: ConnectionEvent)
    /// The supervisor's periodic check ran: its heartbeats are on their way.
    func periodicCheck()
    /// The supervisor closed: close what the follower owns and end its work.
    func supervisorClosed()
}
