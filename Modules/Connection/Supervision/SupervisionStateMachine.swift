/// When each supervised connection reconnects, and when connections are checked: a pure state
/// machine over node identifiers and the loop's clock, with the randomness of the jitter passed in.
///
/// - A connection that was ready and is lost reconnects at once.
/// - After the `n`-th failed attempt in a row, the next waits `strategy.delay(attempt: n - 1)`:
///   `factor × exponentBase^(n-1)` milliseconds with jitter, growing for `numberOfRetries` steps,
///   then repeating the longest delay for as long as it takes.
/// - A definitive failure (credentials, TLS, settings) stops the attempts: there is no silent
///   retry loop. After the longest delay, a request may start one attempt on demand.
/// - Every `checkInterval` (when set) a check runs: heartbeats for idle connections and, for a
///   standalone client, its role check.
package struct SupervisionStateMachine<Node: Hashable> {
    package enum NodeState: Equatable {
        /// Ready.
        case connected
        /// An attempt runs; `failures` attempts in a row failed before it.
        case connecting(failures: Int)
        /// Waiting until `until` for the next attempt.
        case waiting(failures: Int, until: Deadline)
        /// Stopped after a definitive failure; requests may retry on demand from `until` on
        /// (`nil`: already allowed).
        case stopped(until: Deadline?)
    }

    package enum Action: Equatable {
        /// Start an attempt for `node`.
        case connect(Node)
        /// Let the next request to `node` start an attempt.
        case allowRetryOnDemand(Node)
        /// Run the periodic check.
        case check
        /// Arm the loop timer for this deadline (earlier than any armed).
        case armTimer(Deadline)
    }

    package let strategy: BackoffStrategy
    package let checkInterval: Duration?
    package private(set) var nodes: [Node: NodeState] = [:]
    package private(set) var nextCheck: Deadline = .distantFuture
    private var armed: Deadline = .distantFuture
    package private(set) var closed = false

    package init(strategy: BackoffStrategy, checkInterval: Duration?) {
        self.strategy = strategy
        self.checkInterval = checkInterval
    }

    /// The longest delay between attempts, jitter aside.
    package var longestDelay: Duration { strategy.baseDelay(attempt: strategy.numberOfRetries) }

    /// Starts the periodic check.
    package mutating func start(now: Deadline) -> [Action] {
        guard let checkInterval, !closed else { return [] }
        nextCheck = now + checkInterval
        return arm()
    }

    /// Supervises `node`, whose connection is connecting (or about to) when `connecting`.
    package mutating func add(_ node: Node, connecting: Bool) {
        guard !closed, nodes[node] == nil else { return }
        nodes[node] = connecting ? .connecting(failures: 0) : .waiting(failures: 0, until: .distantFuture)
    }

    /// Stops supervising `node`.
    package mutating func remove(_ node: Node) {
        nodes[node] = nil
    }

    /// `node`'s connection became ready.
    package mutating func connected(_ node: Node) {
        guard nodes[node] != nil else { return }
        nodes[node] = .connected
    }

    /// An attempt for `node` started without the supervisor (a request after a definitive failure,
    /// or the first request of a lazy client).
    package mutating func attemptStarted(_ node: Node) {
        guard let state = nodes[node] else { return }
        switch state {
        case .connecting: break
        case .connected, .stopped: nodes[node] = .connecting(failures: 0)
        case .waiting(let failures, _): nodes[node] = .connecting(failures: failures)
        }
    }

    /// `node`'s ready connection was lost: reconnect at once.
    package mutating func lost(_ node: Node) -> [Action] {
        guard !closed, nodes[node] != nil else { return [] }
        nodes[node] = .connecting(failures: 0)
        return [.connect(node)]
    }

    /// An attempt for `node` failed at `now`. `unitRandom` (in 0...1) places the jitter.
    package mutating func attemptFailed(_ node: Node, now: Deadline, definitive: Bool, unitRandom: Double) -> [Action] {
        guard !closed, let state = nodes[node] else { return [] }
        if definitive {
            nodes[node] = .stopped(until: now + longestDelay)
            return arm()
        }
        let before: Int
        switch state {
        case .connecting(let failures), .waiting(let failures, _): before = failures
        case .connected, .stopped: before = 0
        }
        let delay = strategy.delay(attempt: before, unitRandom: unitRandom)
        nodes[node] = .waiting(failures: before + 1, until: now + delay)
        return arm()
    }

    /// After a failed attempt: how many failed in a row, and when the next attempt is due.
    package func nextAttempt(_ node: Node) -> (failures: Int, at: Deadline)? {
        switch nodes[node] {
        case .waiting(let failures, let until): (failures, until)
        case .stopped(let until?): (0, until)
        default: nil
        }
    }

    /// Attempts for every stopped node now (the password was changed, say).
    package mutating func retryStopped() -> [Action] {
        guard !closed else { return [] }
        var actions: [Action] = []
        for (node, state) in nodes {
            guard case .stopped = state else { continue }
            nodes[node] = .connecting(failures: 0)
            actions.append(.connect(node))
        }
        return actions
    }

    /// The loop timer fired at `now`.
    package mutating func timerFired(now: Deadline) -> [Action] {
        guard !closed else { return [] }
        // Timers can't be cancelled: an early firing of a superseded one finds nothing due.
        guard now >= armed else { return [] }
        armed = .distantFuture
        var actions: [Action] = []
        for (node, state) in nodes {
            switch state {
            case .waiting(let failures, let until) where until <= now:
                nodes[node] = .connecting(failures: failures)
                actions.append(.connect(node))
            case .stopped(let until?) where until <= now:
                nodes[node] = .stopped(until: nil)
                actions.append(.allowRetryOnDemand(node))
            default:
                break
            }
        }
        if let checkInterval, nextCheck <= now {
            nextCheck = now + checkInterval
            actions.append(.check)
        }
        return actions + arm()
    }

    /// Stops everything.
    package mutating func close() {
        closed = true
        nodes = [:]
        nextCheck = .distantFuture
    }

    /// The next deadline anything waits for, when it is earlier than the armed timer.
    private mutating func arm() -> [Action] {
        var next = nextCheck
        for state in nodes.values {
            switch state {
            case .waiting(_, let until) where until < next: next = until
            case .stopped(let until?) where until < next: next = until
            default: break
            }
        }
        guard next < armed else { return [] }
        armed = next
        return [.armTimer(next)]
    }
}
