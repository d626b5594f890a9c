/// How the pool of dedicated connections behind `withDedicatedConnection` and blocking commands
/// behaves, per node.
///
/// A borrowed connection goes back to the pool when the closure returns, connected and clean
/// (an open `MULTI` is discarded and keys still watched are unwatched on the way); one whose
/// state can't be cleaned (`SELECT`, `CLIENT …`, `HELLO`, `AUTH` ran on it), or that was lost,
/// is closed instead.
public struct DedicatedPoolConfiguration: Sendable, Hashable {
    /// Connections per node, lent and idle together. A borrower beyond it waits.
    public var maximumConnections: Int
    /// Idle connections kept however long they sit unused.
    public var minimumIdle: Int
    /// How long an idle connection above `minimumIdle` is kept; `.zero`: not at all, so one given
    /// back goes to a borrower already waiting, or is closed.
    public var idleTimeout: Duration
    /// How long a borrower waits for a connection when the pool is at `maximumConnections`, and for a new
    /// one to connect; then it fails with `.timeout`.
    public var acquireTimeout: Duration
    /// How long one borrower may hold a connection; `nil` (the default): as long as its closure
    /// runs. Past it the connection is closed, never lent again, and the borrower's later
    /// commands fail: for a closure that may hang.
    public var maximumLease: Duration?
    /// Whether blocking commands (`BLPOP`, `BRPOP`, `BLMOVE`, `BLMPOP`, `BZPOPMIN`, `BZMPOP`,
    /// `XREAD`/`XREADGROUP` with `BLOCK`, …) borrow a connection here for their wait, so that the
    /// requests of other callers on the shared connection don't queue behind them. `false` sends
    /// them on the shared connection, as GLIDE does. `WAIT` and `WAITAOF` always go on the shared
    /// connection: they wait for the writes made there.
    public var runsBlockingCommands: Bool

    /// A pool of at most `maximumConnections` connections per node, keeping `minimumIdle` of them and
    /// others for `idleTimeout` when unused; blocking commands borrow from it unless
    /// `runsBlockingCommands` is `false`.
    public init(
        maximumConnections: Int = 16, minimumIdle: Int = 0, idleTimeout: Duration = .seconds(60),
        acquireTimeout: Duration = .seconds(2), maximumLease: Duration? = nil, runsBlockingCommands: Bool = true
    ) {
        self.maximumConnections = maximumConnections
        self.minimumIdle = minimumIdle
        self.idleTimeout = idleTimeout
        self.acquireTimeout = acquireTimeout
        self.maximumLease = maximumLease
        self.runsBlockingCommands = runsBlockingCommands
    }

    /// What is wrong with these settings, if anything.
    var problem: String? {
        if maximumConnections < 1 { return "dedicatedConnections.maximumConnections must be at least 1" }
        if minimumIdle < 0 || minimumIdle > maximumConnections {
            return "dedicatedConnections.minimumIdle must be between 0 and maximumConnections"
        }
        if idleTimeout < .zero { return "dedicatedConnections.idleTimeout must not be negative" }
        if acquireTimeout <= .zero { return "dedicatedConnections.acquireTimeout must be positive" }
        if let maximumLease, maximumLease <= .zero { return "dedicatedConnections.maximumLease must be positive" }
        return nil
    }
}
