import GlideTransport
import Testing

@testable import GlideConnection

/// A node's latency: quantiles over a sliding minute, and the timeout message that carries them.
@Suite struct LatencyWindowTests {
    /// Records `count` round trips of `latency` queued at `at`.
    static func record(_ window: inout LatencyWindow, _ latency: Duration, count: Int, at: Deadline) {
        for _ in 0..<count { window.record(queued: at, now: at + latency) }
    }

    @Test func bucketsBoundTheirValuesWithinAnEighth() {
        for nanoseconds: UInt64 in [0, 1023, 1024, 15_000, 16_384, 20_000, 999_999, 1_000_000, 250_000_000, 7_000_000_000] {
            let bucket = LatencyWindow.bucket(of: nanoseconds)
            let upper = LatencyWindow.upperBound(of: bucket)
            #expect(upper >= nanoseconds, "\(nanoseconds) in bucket \(bucket) bounded by \(upper)")
            #expect(Double(upper) <= max(Double(nanoseconds) * 1.125 + 1024, 1024), "\(nanoseconds): \(upper)")
            if bucket > 0 { #expect(LatencyWindow.upperBound(of: bucket - 1) < nanoseconds) }
        }
        #expect(LatencyWindow.bucket(of: .max) == LatencyWindow.bucketCount - 1)
    }

    @Test func quantilesFollowTheSamples() throws {
        var window = LatencyWindow()
        #expect(window.latency(at: t0) == nil)
        // 990 fast replies, 9 slow ones, one very slow.
        Self.record(&window, .microseconds(200), count: 990, at: t0)
        Self.record(&window, .milliseconds(20), count: 9, at: t0)
        Self.record(&window, .milliseconds(400), count: 1, at: t0)
        let latency = try #require(window.latency(at: t0 + .seconds(1)))
        #expect(latency.samples == 1000)
        #expect(latency.p50 >= .microseconds(200) && latency.p50 <= .microseconds(226))
        #expect(latency.p99 >= .microseconds(200) && latency.p99 <= .microseconds(226))
        #expect(latency.p999 >= .milliseconds(20) && latency.p999 <= .microseconds(22_600))
        #expect(latency.maximum == .milliseconds(400))
        // Three times p99.9, rounded up to a 1-2-5 step.
        #expect(latency.suggestedTimeout == .milliseconds(100))
        #expect(latency.description.hasPrefix("p50 0.2"), "\(latency)")
    }

    @Test func theWindowSlidesAndForgets() throws {
        var window = LatencyWindow()
        Self.record(&window, .milliseconds(50), count: 100, at: t0)
        // Half a minute on: the old span is still counted beside the new one.
        Self.record(&window, .milliseconds(1), count: 100, at: t0 + .seconds(31))
        let both = try #require(window.latency(at: t0 + .seconds(32)))
        #expect(both.samples == 200)
        #expect(both.maximum == .milliseconds(50))
        // A minute on, the first span is gone.
        let later = try #require(window.latency(at: t0 + .seconds(62)))
        #expect(later.samples == 100)
        #expect(later.p99 <= .microseconds(1_126))
        // After two idle spans, nothing is left.
        #expect(window.latency(at: t0 + .seconds(200)) == nil)
        Self.record(&window, .milliseconds(3), count: 1, at: t0 + .seconds(200))
        #expect(window.latency(at: t0 + .seconds(201))?.samples == 1)
    }

    @Test func aSuggestedTimeoutIsNeverBelowTenMilliseconds() {
        let fast = NodeLatency(
            samples: 10, p50: .microseconds(50), p90: .microseconds(60), p99: .microseconds(80), p999: .microseconds(90),
            maximum: .microseconds(90))
        #expect(fast.suggestedTimeout == .milliseconds(10))
        let slow = NodeLatency(
            samples: 10, p50: .milliseconds(300), p90: .milliseconds(400), p99: .milliseconds(700), p999: .milliseconds(900),
            maximum: .milliseconds(900))
        #expect(slow.suggestedTimeout == .seconds(5))
    }
}

extension ConnectionStateMachineTests {
    @Test func aSampledRequestsRoundTripIsRecordedAndATimeoutCarriesIt() throws {
        var machine = readyMachine()
        // Sampled requests, answered 2 ms after they were queued; one not sampled, answered later.
        for index in 0..<20 {
            let queued = t0 + .milliseconds(index * 10)
            _ = machine.enqueueWritten("s\(index)", deadline: queued + .seconds(1), sampledAt: queued, encode: request("S"))
            machine.replyTime = queued + .milliseconds(2)
            _ = machine.replyReceived(reply("+OK\r\n"), generation: 1)
        }
        _ = machine.enqueueWritten("unsampled", deadline: t0 + .seconds(2), encode: request("U"))
        machine.replyTime = t0 + .seconds(1)
        _ = machine.replyReceived(reply("+OK\r\n"), generation: 1)
        let latency = try #require(machine.latency.latency(at: t0 + .seconds(1)))
        #expect(latency.samples == 20)
        #expect(latency.maximum == .milliseconds(2))
        // A request that then gets no reply: its timeout names the node's pace and a timeout for it.
        _ = machine.enqueueWritten("late", deadline: t0 + .seconds(2), encode: request("L"))
        let expiry = machine.timerFired(now: t0 + .seconds(3))
        guard case .failure(_, let summary) = try #require(expiry.resumptions.first) else {
            Issue.record("expected a failure")
            return
        }
        #expect(summary.code == .timeout)
        #expect(summary.nodeLatency == latency)
        #expect(
            summary.message.hasSuffix(
                "Over the last minute this node answered with p50 2.00 ms, p99 2.00 ms, p99.9 2.00 ms, max 2.00 ms over 20 sampled replies; "
                    + "a request timeout of 10 ms covers that pace"), "\(summary.message)")
        #expect(summary.error(at: "n:1").nodeLatency == latency)
    }
}
