import GlideConnection
import GlideTransport
import Synchronization

/// Hedged reads: a read sent to a replica that hasn't answered within about what its nodes
/// usually take is sent once more, to another node that may serve it, and the first reply wins.
/// The other is discarded where it arrives; no caller ever sees it.
///
/// A budget caps the extra requests: each read watched earns `budget` of a hedge, and a hedge
/// spends a whole one, with up to `burst` saved (a stalled node holds up many reads at once).
/// Over any stretch, hedges stay within `budget` of the reads plus `burst`.
/// `Docs/resilience.md`, "Hedged reads".
public struct HedgedReads: Sendable, Hashable {
    /// The extra requests hedging may add, as a share of the reads it watches. 0.05 (5 %).
    public var budget: Double
    /// The most hedges saved up for a burst. 50.
    public var burst: Int
    /// The shortest wait before a read is hedged, whatever the nodes' pace. 1 ms.
    public var minimumDelay: Duration
    /// The longest wait before a read is hedged; also the wait while the nodes have no measured
    /// pace yet. 50 ms.
    public var maximumDelay: Duration

    /// Hedged reads; see each property for its default.
    public init(
        budget: Double = 0.05, burst: Int = 50, minimumDelay: Duration = .milliseconds(1), maximumDelay: Duration = .milliseconds(50)
    ) {
        self.budget = budget
        self.burst = burst
        self.minimumDelay = minimumDelay
        self.maximumDelay = maximumDelay
    }

    /// What is wrong with these settings, if anything.
    var problem: String? {
        if !(budget > 0 && budget <= 1) { return "hedgedReads.budget must be above 0 and at most 1" }
        if burst < 1 { return "hedgedReads.burst must be at least 1" }
        if minimumDelay < .zero { return "hedgedReads.minimumDelay must not be negative" }
        if maximumDelay < minimumDelay { return "hedgedReads.maximumDelay must not be below minimumDelay" }
        return nil
    }
}

/// Sends reads as `HedgedReads` says, for either client: they name the two nodes, it races them.
final class ReadHedger<Loop: EventLoop, Connector: StreamConnector>: Sendable {
    typealias Connection = NodeConnection<Loop, Connector>

    /// How long a node's measured delay is reused before it is read again.
    static var delayLifetime: Duration { .seconds(1) }

    struct State {
        var tokens: Double
        /// Each node's hedge delay, and when it was read from its latency.
        var delays: [ObjectIdentifier: (delay: Duration, at: Deadline)] = [:]
    }

    let configuration: HedgedReads
    let loop: Loop
    private let state: Lock<State>
    /// Reads watched, hedges sent, and hedges whose reply came first.
    let reads = Atomic<Int>(0)
    let hedges = Atomic<Int>(0)
    let hedgesWon = Atomic<Int>(0)

    init(_ configuration: HedgedReads, loop: Loop) {
        self.configuration = configuration
        self.loop = loop
        self.state = Lock(State(tokens: Double(configuration.burst)))
    }

    /// The read `request` on `first`; hedged on `second` once it has waited the delay, while the
    /// budget allows. The first reply wins (an error reply too: it answers the read); a failure
    /// waits for the hedge, when one was sent, and is returned when that fails too.
    ///
    /// The read is sent from the caller's task, and a loop timer starts the hedge: a read answered
    /// in time costs a timer and no task. A hedge that answers first ends the read's wait by
    /// cancelling its request, whose late reply is then discarded.
    func read(
        _ request: RESPCommandBuffer, on first: Connection, or second: Connection, deadline: Deadline
    ) async -> Result<ConnectionReply, GlideError> {
        earn()
        let race = HedgeRace(hedger: self, first: first, second: second, request: request, deadline: deadline)
        let at = loop.now() + hedgeDelay(first, second)
        if at < deadline { loop.scheduleTimer(at: at, handler: race) }
        let result = await first.send(id: race.firstID, deadline: deadline) { $0.append(request) }
        let (hedge, hedgeResult) = race.state.withLock { state in
            state.firstDone = true
            return (state.hedge, state.hedgeResult)
        }
        if case .success = result {
            hedge?.cancel()
            return result
        }
        // The hedge answered and cancelled the read for it.
        if let hedgeResult, Self.answers(hedgeResult) {
            hedgesWon.add(1, ordering: .relaxed)
            return hedgeResult
        }
        guard let hedge, !Task.isCancelled else {
            hedge?.cancel()
            return result
        }
        // The read failed with a hedge under way: its outcome, if it answers. The caller's
        // cancellation reaches the hedge, which is not its child.
        let second = await withTaskCancellationHandler {
            await hedge.value
        } onCancel: {
            hedge.cancel()
        }
        guard Self.answers(second) else { return result }
        hedgesWon.add(1, ordering: .relaxed)
        return second
    }

    /// Whether a hedge's outcome answers the read: a reply that is not an error. An error reply
    /// (`LOADING`, `MOVED`) from the hedge's node says nothing of the read's own node, whose reply
    /// is awaited instead.
    static func answers(_ outcome: Result<ConnectionReply, GlideError>) -> Bool {
        if case .success(let reply) = outcome { !reply.token.type.isError } else { false }
    }

    /// One hedged read's race: the loop timer that may start the hedge, and what the hedge did.
    final class HedgeRace: TimerHandler {
        struct State {
            var firstDone = false
            var hedge: Task<Result<ConnectionReply, GlideError>, Never>?
            var hedgeResult: Result<ConnectionReply, GlideError>?
        }

        let hedger: ReadHedger
        let first: Connection
        let second: Connection
        let request: RESPCommandBuffer
        let deadline: Deadline
        let firstID: UInt64
        let state = Lock(State())

        init(hedger: ReadHedger, first: Connection, second: Connection, request: RESPCommandBuffer, deadline: Deadline) {
            self.hedger = hedger
            self.first = first
            self.second = second
            self.request = request
            self.deadline = deadline
            self.firstID = first.makeRequestID()
        }

        /// The delay passed: unless the read was answered, the hedge goes out, budget allowing.
        func timerFired(now: Deadline) {
            state.withLock { state in
                guard !state.firstDone, state.hedge == nil, hedger.spend() else { return }
                hedger.hedges.add(1, ordering: .relaxed)
                state.hedge = Task { [self] in
                    let result = await second.send(deadline: deadline) { $0.append(request) }
                    let cancelsFirst = self.state.withLock { state -> Bool in
                        state.hedgeResult = result
                        return ReadHedger.answers(result) && !state.firstDone
                    }
                    if cancelsFirst { first.cancel(requestID: firstID) }
                    return result
                }
            }
        }
    }

    /// How long a read waits before it is hedged: the faster node's 99th percentile, within the
    /// configured bounds (the maximum while neither has a measured pace).
    func hedgeDelay(_ first: Connection, _ second: Connection) -> Duration {
        let now = loop.now()
        let p99 = min(measured(first, now: now) ?? .seconds(3600), measured(second, now: now) ?? .seconds(3600))
        return min(configuration.maximumDelay, max(configuration.minimumDelay, p99))
    }

    /// `connection`'s 99th percentile, read at most once per `delayLifetime` once it has one (a
    /// connection with no sample yet is asked again each time, so a new client hedges as soon as
    /// its nodes have a pace).
    private func measured(_ connection: Connection, now: Deadline) -> Duration? {
        let id = ObjectIdentifier(connection)
        if let cached = state.withLock({ $0.delays[id] }), now < cached.at + Self.delayLifetime {
            return cached.delay
        }
        guard let p99 = connection.latency?.p99 else { return nil }
        state.withLock { state in
            // Connections come and go with the topology: a table of old ones is cleared.
            if state.delays.count > 4096 { state.delays.removeAll() }
            state.delays[id] = (p99, now)
        }
        return p99
    }

    /// A read watched earns its share of a hedge.
    private func earn() {
        reads.add(1, ordering: .relaxed)
        let (share, burst) = (configuration.budget, Double(configuration.burst))
        state.withLock { $0.tokens = min(burst, $0.tokens + share) }
    }

    /// Spends a hedge; `false` when the budget has none left.
    func spend() -> Bool {
        state.withLock { state in
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }
}
