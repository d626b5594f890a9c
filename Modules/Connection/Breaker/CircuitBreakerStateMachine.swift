package import GlideTransport

/// When a node's circuit breaker opens, and for how long. Only failures of the node itself count:
/// timeouts, lost or failed connections, broken streams. A server's error reply (`WRONGTYPE`,
/// `MOVED`, …) is an answer, so it counts as a success.
public struct CircuitBreakerConfiguration: Sendable, Hashable {
    /// Failures in a row that open the breaker.
    public var consecutiveFailures: Int
    /// The share of failed requests over `window` (0 to 1) that opens the breaker, once at least
    /// `minimumRequests` ended in it; `nil`: only failures in a row count.
    public var failureRate: Double?
    /// How far back `failureRate` looks.
    public var window: Duration
    /// Requests that must have ended in `window` before `failureRate` is judged.
    public var minimumRequests: Int
    /// How long an opened breaker fails requests at once before it lets one probe through. It
    /// doubles each time the probe fails too, up to `maximumOpenDuration`.
    public var openDuration: Duration
    /// The longest an opened breaker waits before its probe.
    public var maximumOpenDuration: Duration

    /// A breaker that opens after `consecutiveFailures` failures in a row (5), or when
    /// `failureRate` of the requests over `window` (10 s; at least `minimumRequests`, 20) failed;
    /// it stays open for `openDuration` (5 s), doubling while probes fail, up to
    /// `maximumOpenDuration` (60 s).
    public init(
        consecutiveFailures: Int = 5, failureRate: Double? = nil, window: Duration = .seconds(10), minimumRequests: Int = 20,
        openDuration: Duration = .seconds(5), maximumOpenDuration: Duration = .seconds(60)
    ) {
        self.consecutiveFailures = consecutiveFailures
        self.failureRate = failureRate
        self.window = window
        self.minimumRequests = minimumRequests
        self.openDuration = openDuration
        self.maximumOpenDuration = maximumOpenDuration
    }

    /// Why the settings can't work, if they can't.
    package var problem: String? {
        if consecutiveFailures < 1 { return "circuitBreaker.consecutiveFailures must be at least 1" }
        if let failureRate, !(failureRate > 0 && failureRate <= 1) { return "circuitBreaker.failureRate must be in (0, 1]" }
        if window <= .zero { return "circuitBreaker.window must be positive" }
        if minimumRequests < 1 { return "circuitBreaker.minimumRequests must be at least 1" }
        if openDuration <= .zero || maximumOpenDuration < openDuration {
            return "circuitBreaker.openDuration must be positive and at most maximumOpenDuration"
        }
        return nil
    }
}

/// A node's circuit breaker, as a pure state machine over the loop's clock.
///
/// - Closed: requests pass, and their outcomes are counted.
/// - Open: requests fail at once until the open period ends.
/// - Half-open: the first request after it is the probe, and the rest fail at once while it runs.
///   A probe that succeeds closes the breaker; one that fails opens it again, for twice as long.
///   A probe that ends neither way (cancelled) lets the next request be the probe. A blocking
///   command is never the probe: it could hold the breaker half-open for as long as it blocks.
///
/// Each admission carries the epoch it was made in. An outcome from an earlier epoch (a request let
/// through before the breaker opened, ending while it is open) changes nothing: one slow burst
/// can't hold the breaker open, and only the probe decides the half-open state.
package struct CircuitBreakerStateMachine: Sendable {
    package enum State: Equatable, Sendable {
        case closed(consecutiveFailures: Int)
        case open(until: Deadline, trips: Int)
        case halfOpen(trips: Int, probing: Bool)
    }

    /// What happens to a request.
    package enum Admission: Equatable, Sendable {
        /// It goes, and its outcome counts in `epoch`.
        case pass(epoch: UInt64)
        /// It goes as the half-open breaker's probe.
        case probe(epoch: UInt64)
        /// It fails at once; the breaker lets a probe through from `probeAt` on (`nil`: a probe
        /// runs).
        case reject(probeAt: Deadline?)
    }

    /// How a request that went ended, as the breaker counts it.
    package enum Outcome: Equatable, Sendable {
        /// The node answered, even with an error reply.
        case success
        /// The node failed it: a timeout, a lost or failed connection.
        case failure
        /// Neither: it was cancelled, or refused before it reached the node.
        case neutral
    }

    /// Why the breaker opened.
    package enum Reason: Equatable, Sendable {
        case consecutiveFailures(Int)
        case failureRate(failures: Int, requests: Int)
        case probeFailed
    }

    /// A change the owner reports.
    package enum Change: Equatable, Sendable {
        case opened(until: Deadline, trips: Int, Reason)
        case closed
    }

    package let configuration: CircuitBreakerConfiguration
    package private(set) var state = State.closed(consecutiveFailures: 0)
    package private(set) var epoch: UInt64 = 0
    private var window: FailureWindow?

    package init(_ configuration: CircuitBreakerConfiguration) {
        self.configuration = configuration
        window = configuration.failureRate.map { _ in FailureWindow(length: configuration.window) }
    }

    /// Whether every request passes now without asking: closed.
    package var admitsAll: Bool {
        if case .closed = state { true } else { false }
    }

    /// Whether a success now changes nothing: closed, with no failure to forget and no window to count in.
    package var successIsNoOp: Bool {
        state == .closed(consecutiveFailures: 0) && window == nil
    }

    /// A request wants to go at `now`. One that may not be the probe (`mayProbe` false: a
    /// blocking command, whose reply may take as long as it waits) goes only while the breaker is
    /// closed.
    package mutating func admit(now: Deadline, mayProbe: Bool = true) -> Admission {
        switch state {
        case .closed:
            return .pass(epoch: epoch)
        case .open(let until, let trips):
            guard now >= until, mayProbe else { return .reject(probeAt: until) }
            epoch &+= 1
            state = .halfOpen(trips: trips, probing: true)
            return .probe(epoch: epoch)
        case .halfOpen(let trips, let probing):
            guard !probing, mayProbe else { return .reject(probeAt: nil) }
            state = .halfOpen(trips: trips, probing: true)
            return .probe(epoch: epoch)
        }
    }

    /// A request admitted in `epoch` ended with `outcome` at `now`.
    package mutating func record(_ outcome: Outcome, epoch: UInt64, now: Deadline) -> Change? {
        guard epoch == self.epoch, outcome != .neutral || isProbing else { return nil }
        switch state {
        case .closed(let failures):
            window?.add(failed: outcome == .failure, now: now)
            guard outcome == .failure else {
                state = .closed(consecutiveFailures: 0)
                return nil
            }
            if failures + 1 >= configuration.consecutiveFailures {
                return open(now: now, trips: 1, .consecutiveFailures(failures + 1))
            }
            state = .closed(consecutiveFailures: failures + 1)
            if let rate = configuration.failureRate, let window, window.requests >= configuration.minimumRequests,
                Double(window.failures) >= rate * Double(window.requests)
            {
                return open(now: now, trips: 1, .failureRate(failures: window.failures, requests: window.requests))
            }
            return nil
        case .halfOpen(let trips, _):
            switch outcome {
            case .success:
                self.epoch &+= 1
                state = .closed(consecutiveFailures: 0)
                window = configuration.failureRate.map { _ in FailureWindow(length: configuration.window) }
                return .closed
            case .failure:
                return open(now: now, trips: trips + 1, .probeFailed)
            case .neutral:
                state = .halfOpen(trips: trips, probing: false)
                return nil
            }
        case .open:
            return nil
        }
    }

    private var isProbing: Bool {
        if case .halfOpen(_, true) = state { true } else { false }
    }

    /// Opens for the `trips`-th time in a row: `openDuration`, doubled for each trip after the first.
    private mutating func open(now: Deadline, trips: Int, _ reason: Reason) -> Change {
        let doubled = configuration.openDuration * (1 << min(trips - 1, 20))
        let until = now + min(doubled, configuration.maximumOpenDuration)
        epoch &+= 1
        state = .open(until: until, trips: trips)
        return .opened(until: until, trips: trips, reason)
    }
}

/// Successes and failures over a sliding window, in ten buckets of a tenth of it each.
struct FailureWindow: Sendable {
    let bucketLength: UInt64
    /// Each bucket's number (time since boot over its length) and its counts.
    private var buckets = [(number: UInt64, failures: Int, requests: Int)](repeating: (0, 0, 0), count: 10)
    private(set) var failures = 0
    private(set) var requests = 0

    init(length: Duration) {
        bucketLength = max(Deadline.nanoseconds(length) / 10, 1)
    }

    mutating func add(failed: Bool, now: Deadline) {
        let number = now.uptimeNanoseconds / bucketLength
        // Buckets more than ten lengths old drop out of the counts as they are reused.
        for index in buckets.indices where buckets[index].requests > 0 && buckets[index].number + 10 <= number {
            failures -= buckets[index].failures
            requests -= buckets[index].requests
            buckets[index] = (0, 0, 0)
        }
        let index = Int(number % 10)
        if buckets[index].number != number { buckets[index] = (number, 0, 0) }
        buckets[index].requests += 1
        requests += 1
        if failed {
            buckets[index].failures += 1
            failures += 1
        }
    }
}
