import GlideTransport
import Testing

@testable import GlideConnection

/// Adaptive timeouts without sockets: the pure state, and the connection state machine that
/// shortens deadlines with it.
@Suite struct AdaptiveTimeoutTests {
    static let settings = AdaptiveTimeout(multiplier: 3, minimum: .milliseconds(10), minimumSamples: 100)

    /// A window of `count` round trips of `latency`, queued at `at`.
    static func window(_ latency: Duration, count: Int, at: Deadline) -> LatencyWindow {
        var window = LatencyWindow()
        for _ in 0..<count { window.record(queued: at, now: at + latency) }
        return window
    }

    @Test func theTimeoutIsThreeTimesTheNodesP999AboveTheFloorOnceThereAreEnoughSamples() throws {
        var state = AdaptiveTimeoutState(Self.settings)
        // Too few samples: the caller's deadline stands.
        state.sampled(Self.window(.milliseconds(20), count: 99, at: t0), now: t0 + .milliseconds(20))
        #expect(state.current == nil)
        #expect(state.deadline(t0 + .seconds(2), now: t0) == t0 + .seconds(2))
        // Enough: three times p99.9 (an upper bucket bound: within an eighth above 20 ms).
        state.sampled(Self.window(.milliseconds(20), count: 100, at: t0), now: t0 + .seconds(2))
        let timeout = try #require(state.current)
        #expect(timeout >= .milliseconds(60) && timeout <= .microseconds(67_600), "\(timeout)")
        #expect(state.deadline(t0 + .seconds(2), now: t0) == t0 + timeout)
        // Never past the caller's own deadline.
        #expect(state.deadline(t0 + .milliseconds(30), now: t0) == t0 + .milliseconds(30))
        // A fast node gets the floor.
        var fast = AdaptiveTimeoutState(Self.settings)
        fast.sampled(Self.window(.microseconds(100), count: 500, at: t0), now: t0 + .seconds(1))
        #expect(fast.current == .milliseconds(10))
    }

    @Test func itRisesAtOnceAndFallsAtMostByHalfPerRefresh() throws {
        var state = AdaptiveTimeoutState(Self.settings)
        state.sampled(Self.window(.microseconds(300), count: 500, at: t0), now: t0 + .seconds(1))
        #expect(state.current == .milliseconds(10))
        // Within the refresh interval nothing is worked out again.
        let slow = Self.window(.milliseconds(100), count: 500, at: t0)
        state.sampled(slow, now: t0 + .milliseconds(1500))
        #expect(state.current == .milliseconds(10))
        // The next refresh takes the slower figure whole.
        state.sampled(slow, now: t0 + .seconds(2))
        let risen = try #require(state.current)
        #expect(risen >= .milliseconds(300), "\(risen)")
        // Fast again: a half per refresh, down to the window's figure.
        let fastAgain = Self.window(.microseconds(300), count: 500, at: t0 + .seconds(2))
        state.sampled(fastAgain, now: t0 + .seconds(3))
        #expect(state.current == risen / 2)
        state.sampled(fastAgain, now: t0 + .seconds(4))
        #expect(state.current == risen / 4)
        for second in 5...12 { state.sampled(fastAgain, now: t0 + .seconds(second)) }
        #expect(state.current == .milliseconds(10))
    }

    @Test func aTimeoutDoublesItOncePerTimeoutPeriod() {
        var state = AdaptiveTimeoutState(Self.settings)
        state.timedOut(now: t0)  // nothing adapted yet: nothing to back off
        #expect(state.current == nil)
        state.sampled(Self.window(.microseconds(300), count: 500, at: t0), now: t0 + .seconds(1))
        #expect(state.current == .milliseconds(10))
        let stall = t0 + .seconds(1) + .milliseconds(50)
        // The requests one stall times out together: one doubling.
        for _ in 0..<20 { state.timedOut(now: stall) }
        #expect(state.current == .milliseconds(20))
        // A timeout period later, again.
        state.timedOut(now: stall + .milliseconds(19))
        #expect(state.current == .milliseconds(20))
        state.timedOut(now: stall + .milliseconds(20))
        #expect(state.current == .milliseconds(40))
        // The refresh right after a backoff waits a full interval.
        state.sampled(Self.window(.microseconds(300), count: 500, at: t0), now: stall + .milliseconds(500))
        #expect(state.current == .milliseconds(40))
    }

    @Test func theSlowestReplyOfTheLastSecondCountsWhenTheMinuteIsMostlyFaster() {
        var state = AdaptiveTimeoutState(Self.settings)
        // A minute of fast replies, then a node that slowed: a few 40 ms replies in the last second.
        let window = Self.window(.microseconds(300), count: 5000, at: t0)
        state.sampled(window, now: t0 + .seconds(1))
        #expect(state.current == .milliseconds(10))
        state.replied(after: .milliseconds(40), late: false, window: window, now: t0 + .milliseconds(1500))
        #expect(state.current == .milliseconds(10))  // not a refresh yet
        state.replied(after: .milliseconds(30), late: false, window: window, now: t0 + .seconds(2))
        #expect(state.current == .milliseconds(120))
        // Forgotten after one more interval, and down by half at most.
        state.replied(after: .microseconds(300), late: false, window: window, now: t0 + .seconds(3))
        #expect(state.current == .milliseconds(60))
    }

    @Test func aLateReplyLiftsItToCoverItsRoundTripAtOnce() {
        var state = AdaptiveTimeoutState(Self.settings)
        state.lateReply(after: .milliseconds(50))  // nothing adapted yet
        #expect(state.current == nil)
        state.sampled(Self.window(.microseconds(300), count: 500, at: t0), now: t0 + .seconds(1))
        state.lateReply(after: .milliseconds(50))
        #expect(state.current == .milliseconds(150))
        state.lateReply(after: .milliseconds(20))  // never down
        #expect(state.current == .milliseconds(150))
    }

    @Test func settingsThatWouldDoNothingAreRefused() {
        #expect(AdaptiveTimeout().problem == nil)
        #expect(AdaptiveTimeout(multiplier: 0.5).problem != nil)
        #expect(AdaptiveTimeout(multiplier: .nan).problem != nil)
        #expect(AdaptiveTimeout(minimum: .zero).problem != nil)
        #expect(AdaptiveTimeout(minimumSamples: 0).problem != nil)
    }

    @Test func theMachineShortensSingleRequestsOnAReadyConnectionOnly() throws {
        var policy = ConnectionPolicy.unsupervised
        policy.adaptiveTimeout = Self.settings
        var machine = readyMachine(policy: policy)
        // Teach it a fast node: 200 sampled replies of 1 ms over 2 s.
        for index in 0..<200 {
            let queued = t0 + .milliseconds(index * 10)
            _ = machine.enqueueWritten("w\(index)", deadline: queued + .seconds(2), sampledAt: queued, encode: request("GET"))
            machine.replyTime = queued + .milliseconds(1)
            _ = machine.replyReceived(reply("+OK\r\n"), generation: 1)
        }
        let timeout = try #require(machine.adaptiveTimeout?.current)
        #expect(timeout == .milliseconds(10))
        let now = t0 + .seconds(3)
        _ = machine.timerFired(now: now)  // the answered requests' timer: nothing left to arm
        // A single request: its deadline is the adaptive one.
        let single = machine.enqueue("a", id: 9001, deadline: now + .seconds(2), sampledAt: nil, now: now, encode: request("GET"))
        #expect(single.armTimer == now + timeout)
        // A pipeline or a blocking command keeps its own.
        _ = machine.enqueue("p", id: 9002, deadline: now + .seconds(2), replies: 3, sampledAt: nil, now: now, encode: request("P"))
        _ = machine.enqueue("b", id: 9003, deadline: now + .seconds(2), blocking: true, sampledAt: nil, now: now, encode: request("B"))
        #expect(machine.pending.suffix(3).map(\.deadline) == [now + timeout, now + .seconds(2), now + .seconds(2)])
        // It times out with a message that names the adaptive timeout, and the timeout doubles.
        let expiry = machine.timerFired(now: now + timeout)
        let message = expiry.resumptions.compactMap { if case .failure(_, let summary) = $0 { summary.message } else { nil } }
        #expect(message.count == 1)
        #expect(message.first?.hasPrefix("no reply within the node's adaptive timeout (10 ms)") == true, "\(message)")
        #expect(machine.adaptiveTimeout?.current == .milliseconds(20))
        // A caller's own shorter deadline expiring says nothing of the node: no doubling.
        let later = now + .seconds(1)
        _ = machine.timerFired(now: later)
        _ = machine.enqueue("short", id: 9005, deadline: later + .milliseconds(5), sampledAt: nil, now: later, encode: request("GET"))
        #expect(machine.pending.last?.adaptive == false)
        _ = machine.timerFired(now: later + .milliseconds(5))
        #expect(machine.adaptiveTimeout?.current == .milliseconds(20))
        // Without a connection, a request waits for one under its own deadline.
        var down = Machine(handshake: plainHandshake, inflightLimit: 10, policy: policy)
        down.adaptiveTimeout = machine.adaptiveTimeout
        _ = down.enqueue("c", id: 9004, deadline: now + .seconds(2), sampledAt: nil, now: now, encode: request("GET"))
        #expect(down.pending.last?.deadline == now + .seconds(2))
    }
}
