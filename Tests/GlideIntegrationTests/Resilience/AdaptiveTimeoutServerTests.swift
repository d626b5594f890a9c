import Foundation
import Glide
import GlideTestSupport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Adaptive timeouts against a real server behind `FaultProxy`: a node whose latency steps up.
@Suite(.timeLimit(.minutes(5))) struct AdaptiveTimeoutServerTests {
    @Test func timeoutsFollowALatencyStepWithinBoundedTimeoutsAndCutAStallShort() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        // The fixed timeout is a generous 3 s: everything below would pass under it.
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [proxy.address]).with {
                $0.requestTimeout = .seconds(3)
                $0.adaptiveTimeout = AdaptiveTimeout(multiplier: 3, minimum: .milliseconds(5), minimumSamples: 32)
            })
        let connection = client.routing.all[0]
        // Few callers: the proxy delays each chunk in turn, so more would queue there and widen the spread.
        let tasks = 4
        let load = FaultLoad()
        let running = load.run(client, tasks: tasks)
        func timeouts() -> Int { load.errors.withLock { $0[.timeout] ?? 0 } }

        // A fast node: its timeout adapts, far below the fixed one.
        try await Polling.waitUntil("the timeout adapted", timeout: .seconds(10)) { connection.adaptiveTimeout != nil }
        let fast = try #require(connection.adaptiveTimeout)
        // Below the fixed 3 s: three times the node's p99.9, a few milliseconds here, and a few
        // hundred when a loaded machine's hiccups are the node's pace (522 ms seen in a matrix run).
        #expect(fast < .seconds(3), "\(fast)")
        #expect(timeouts() == 0)

        // The node slows to about 40 ms a round trip (20 ms each way).
        proxy.set(.latency(.milliseconds(20), jitter: .zero))
        let stepped = ContinuousClock.now
        try await Polling.waitUntil("the timeout followed the step", timeout: .seconds(10)) {
            (connection.adaptiveTimeout ?? .zero) >= .milliseconds(80)
        }
        let followed = ContinuousClock.now - stepped
        // The requests sent before the timeout rose end first (answered or timed out): each task
        // answers two more after it. And a refresh interval passes since the step, so the step's
        // own timeouts are behind us even when the timeout was already above the new round trip
        // (a loaded machine's fast node is slow too) and nothing had to follow.
        let liftedAt = load.successes.load(ordering: .relaxed)
        try await Polling.waitUntil("the requests from before the lift ended", timeout: .seconds(10)) {
            load.successes.load(ordering: .relaxed) >= liftedAt + 2 * tasks
                && ContinuousClock.now - stepped >= AdaptiveTimeoutState.refreshInterval
        }
        let duringStep = timeouts()
        // The requests in flight when the step came time out, and the ones sent after them
        // until the first late reply, one new round trip (40 ms) later, lifts the timeout over
        // it. Meanwhile each round's timeouts double it from the 5 ms floor: 5, 10, 20, 40 ms,
        // so at most four rounds of the callers' requests.
        #expect(duringStep <= tasks * 4, "\(duringStep) timeouts while following the step")
        // Settled: a steady 40 ms node times nothing out.
        let settledFrom = load.successes.load(ordering: .relaxed)
        try await Polling.waitUntil("200 more answers", timeout: .seconds(20)) {
            load.successes.load(ordering: .relaxed) >= settledFrom + 200
        }
        // A hiccup of the machine may still cost one stall's worth, which doubles the timeout again.
        #expect(timeouts() - duringStep <= tasks, "\(timeouts() - duringStep) timeouts after the timeout had followed")
        await load.finish(running)
        #expect(load.wrongReplies.withLock { $0 }.isEmpty)
        #expect(Set(load.errors.withLock { $0 }.keys).isSubset(of: [.timeout]), "\(load.errors.withLock { $0 })")
        let adapted = try #require(connection.adaptiveTimeout)

        // What it is for: a stopped server fails a request at the node's timeout, not the fixed 3 s.
        proxy.set(.pass)
        server.freeze()
        let started = ContinuousClock.now
        let error = await #expect(throws: GlideError.self) { _ = try await client.get("k") }
        let waited = ContinuousClock.now - started
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("adaptive timeout") == true, "\(String(describing: error))")
        #expect(waited < .seconds(3), "waited \(waited) under an adaptive timeout of \(adapted)")
        server.thaw()
        // Served again (a first request may still meet the backlog of the freeze).
        try await Polling.waitUntil("the thawed server answers", timeout: .seconds(10)) {
            (try? await client.ping()) == "PONG"
        }
        print(
            "adaptive timeout: \(fast) on a fast node; after a step to 40 ms it followed to \(adapted) in \(followed)"
                + " with \(duringStep) timeouts, then \(timeouts() - duringStep) over 200 requests; a stopped server failed a request after \(waited)"
        )
        await client.close()
    }
}
