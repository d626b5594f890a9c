import GlideTransport

/// Request timeouts that follow each node's measured pace: a request that one node would have
/// answered long ago fails once it is several times later than that node's 99.9th percentile
/// (or its slowest reply of the last second, when that is slower), rather than waiting out a
/// timeout sized for the slowest node on the worst day.
///
/// The configured request timeout (or a call's own) stays the ceiling: the adaptive one only
/// shortens it. Until a node has `minimumSamples` sampled replies, its requests get the ceiling.
///
/// When a node slows down, its timeout follows at once: the late reply of a request that timed
/// out lifts it to cover that round trip, and a timeout with no reply at all doubles it (once per
/// timeout period). A step up in latency costs the requests in flight when it came, not a stream
/// of timeouts. Coming down is slow: at most halving per second,
/// as the node's minute of samples forgets the slow ones. `Docs/resilience.md`, "Adaptive
/// timeouts".
public struct AdaptiveTimeout: Sendable, Hashable {
    /// The timeout is the node's 99.9th-percentile round trip times this. 3.
    public var multiplier: Double
    /// The timeout never goes below this. 10 ms.
    public var minimum: Duration
    /// Replies a node needs before its timeout adapts (with adaptive timeouts, every single
    /// request is timed). 64.
    public var minimumSamples: Int

    /// Adaptive timeouts; see each property for its default.
    public init(multiplier: Double = 3, minimum: Duration = .milliseconds(10), minimumSamples: Int = 64) {
        self.multiplier = multiplier
        self.minimum = minimum
        self.minimumSamples = minimumSamples
    }

    /// What is wrong with these settings, if anything.
    package var problem: String? {
        if !(multiplier >= 1) || !multiplier.isFinite { return "adaptiveTimeout.multiplier must be at least 1" }
        if minimum <= .zero { return "adaptiveTimeout.minimum must be positive" }
        if minimumSamples < 1 { return "adaptiveTimeout.minimumSamples must be at least 1" }
        return nil
    }
}

/// One connection's adaptive timeout: a pure value the connection's state machine holds beside
/// its latency window, and gives the times.
package struct AdaptiveTimeoutState: Sendable {
    /// How often the timeout is worked out again from the window.
    package static let refreshInterval: Duration = .seconds(1)
    /// No timeout grows past this, whatever the doublings: the ceiling is the caller's anyway.
    static let largest: Duration = .seconds(3600)

    package let configuration: AdaptiveTimeout
    /// The timeout now; `nil` while the node has too few samples (the caller's timeout applies).
    package private(set) var current: Duration?
    private var nextRefresh = Deadline(uptimeNanoseconds: 0)
    /// The slowest reply since the last refresh: a node that just slowed down answers less
    /// often, so for a while its minute of samples is mostly the faster past.
    private var recentMaximum: Duration = .zero
    private var lastBackoff = Deadline(uptimeNanoseconds: 0)

    package init(_ configuration: AdaptiveTimeout) {
        self.configuration = configuration
    }

    /// The deadline of a request queued at `now` whose caller gave `deadline`.
    @inline(__always)
    package func deadline(_ deadline: Deadline, now: Deadline) -> Deadline {
        guard let current else { return deadline }
        return min(deadline, now + current)
    }

    /// A reply came `roundTrip` after its request was queued, and is recorded in `window`, at
    /// `now`; `late`: its request had timed out.
    @inline(__always)
    package mutating func replied(after roundTrip: Duration, late: Bool, window: LatencyWindow, now: Deadline) {
        if roundTrip > recentMaximum { recentMaximum = roundTrip }
        if late { lateReply(after: roundTrip) }
        if now >= nextRefresh { sampled(window, now: now) }
    }

    /// Once per `refreshInterval`, the timeout is worked out again: `multiplier` times the larger
    /// of the window's 99.9th percentile and the slowest reply since the last time. It rises to
    /// that at once, and falls at most by half.
    package mutating func sampled(_ window: LatencyWindow, now: Deadline) {
        guard now >= nextRefresh else { return }
        nextRefresh = now + Self.refreshInterval
        let recent = recentMaximum
        recentMaximum = .zero
        guard let latency = window.latency(at: now), latency.samples >= configuration.minimumSamples else { return }
        let target = min(Self.largest, max(configuration.minimum, max(latency.p999, recent) * configuration.multiplier))
        current = current.map { max(target, $0 / 2) } ?? target
    }

    /// The late reply of a request that had timed out came `roundTrip` after it was queued: the
    /// node is that slow now, so the timeout rises to cover it at once, without waiting for the
    /// next refresh.
    package mutating func lateReply(after roundTrip: Duration) {
        guard let value = current else { return }
        let wanted = min(Self.largest, roundTrip * configuration.multiplier)
        if wanted > value { current = wanted }
    }

    /// A sent request timed out at `now`: the node is slower than its timeout said, so the
    /// timeout doubles, once per timeout period (the requests one stall times out together count
    /// once), and the next refresh waits a full interval.
    package mutating func timedOut(now: Deadline) {
        guard let value = current, now >= lastBackoff + value else { return }
        lastBackoff = now
        current = min(Self.largest, value * 2)
        nextRefresh = now + Self.refreshInterval
    }
}
