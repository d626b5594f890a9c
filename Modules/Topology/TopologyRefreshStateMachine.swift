/// How often a cluster client's topology may and must be refreshed.
public struct TopologyRefreshPolicy: Sendable, Hashable {
    /// The period of the background check; `nil` disables it.
    public var periodicInterval: Duration?
    /// The least time between the starts of two refreshes.
    public var minimumInterval: Duration

    /// A policy; the defaults check every 60 s and refresh at most once a second.
    public init(periodicInterval: Duration? = .seconds(60), minimumInterval: Duration = .seconds(1)) {
        self.periodicInterval = periodicInterval
        self.minimumInterval = minimumInterval
    }
}

/// When to refresh the topology: a pure state machine, driven by its owner's timer and by
/// redirections, that returns what to do.
///
/// - A periodic check runs every `periodicInterval` (GLIDE's default: 60 s), unless disabled.
/// - A redirection (`MOVED`) or a lost node asks for a refresh on demand.
/// - Refreshes start at most once per `minimumInterval`, and never two at once: a storm of
///   `MOVED` replies while one refresh runs leads to at most one more, after it.
///
/// Generic over the clock's instant, so tests drive it with plain numbers.
public struct TopologyRefreshStateMachine<Instant: InstantProtocol>: Sendable
where Instant.Duration == Duration, Instant: Sendable {
    /// How often refreshes may and must happen.
    public typealias Policy = TopologyRefreshPolicy

    /// What the owner does next. Both may be asked for at once.
    public struct Action: Sendable, Hashable {
        /// Start a refresh now, and report `refreshFinished` when it ends.
        public var startRefresh: Bool
        /// Call `timerFired` at this instant (the owner keeps only the earliest it was given).
        public var wakeUp: Instant?

        /// An action.
        public init(startRefresh: Bool, wakeUp: Instant?) {
            self.startRefresh = startRefresh
            self.wakeUp = wakeUp
        }

        /// Nothing to do.
        public static var none: Action { Action(startRefresh: false, wakeUp: nil) }
    }

    /// The policy in force.
    public let policy: Policy
    private var refreshing = false
    private var lastStart: Instant?
    private var onDemandPending = false
    private var nextPeriodic: Instant?
    private var armed: Instant?

    /// A machine that has not started; call `start`.
    public init(policy: Policy) {
        self.policy = policy
    }

    /// Whether a refresh is running.
    public var isRefreshing: Bool { refreshing }

    /// Whether an on-demand refresh is waiting for the rate limit.
    public var hasPendingRequest: Bool { onDemandPending }

    /// The client has its first topology (discovered at `now`): plan the periodic check.
    public mutating func start(now: Instant) -> Action {
        lastStart = now
        nextPeriodic = policy.periodicInterval.map { now.advanced(by: $0) }
        return arm(nextWakeUp)
    }

    /// Something suggests the topology changed (a `MOVED`, a node that can't be reached).
    public mutating func refreshRequested(now: Instant) -> Action {
        onDemandPending = true
        if refreshing { return .none }  // coalesced: one follow-up after the running refresh
        if let earliest = earliestOnDemandStart, now < earliest { return arm(earliest) }
        return begin(now: now)
    }

    /// The owner's timer fired. (A timer that can't be cancelled may fire for a wake-up that is
    /// no longer needed; that is harmless.)
    public mutating func timerFired(now: Instant) -> Action {
        armed = nil
        if refreshing { return .none }
        if onDemandPending, earliestOnDemandStart.map({ $0 <= now }) ?? true { return begin(now: now) }
        if let nextPeriodic, nextPeriodic <= now { return begin(now: now) }
        return arm(nextWakeUp)
    }

    /// The refresh ended; `succeeded` is false when no node gave a usable view, which asks for
    /// another attempt after the minimum interval.
    public mutating func refreshFinished(now: Instant, succeeded: Bool) -> Action {
        refreshing = false
        if !succeeded { onDemandPending = true }
        nextPeriodic = policy.periodicInterval.map { now.advanced(by: $0) }
        if onDemandPending, let earliest = earliestOnDemandStart, earliest <= now { return begin(now: now) }
        return arm(nextWakeUp)
    }

    // MARK: Helpers

    private var earliestOnDemandStart: Instant? { lastStart.map { $0.advanced(by: policy.minimumInterval) } }

    private var nextWakeUp: Instant? {
        let onDemand = onDemandPending ? earliestOnDemandStart : nil
        switch (onDemand, nextPeriodic) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    private mutating func begin(now: Instant) -> Action {
        refreshing = true
        onDemandPending = false
        lastStart = now
        return Action(startRefresh: true, wakeUp: nil)
    }

    /// Asks for a wake-up only when it is earlier than the one already armed.
    private mutating func arm(_ instant: Instant?) -> Action {
        guard let instant else { return .none }
        if let armed, armed <= instant { return .none }
        armed = instant
        return Action(startRefresh: false, wakeUp: instant)
    }
}
