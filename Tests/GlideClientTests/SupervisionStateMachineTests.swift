import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Transcripts of the supervisor's schedule: when it reconnects and when it checks.
@Suite(.timeLimit(.minutes(2))) struct SupervisionStateMachineTests {
    typealias Supervision = SupervisionStateMachine<String>

    /// GLIDE's defaults: 100 ms × 2ⁿ for 5 steps, 20 % jitter.
    let glide = BackoffStrategy()

    @Test func aLostConnectionReconnectsAtOnce() {
        var machine = Supervision(strategy: glide, checkInterval: nil)
        machine.add("a", connecting: true)
        machine.connected("a")
        #expect(machine.lost("a") == [.connect("a")])
        #expect(machine.nodes["a"] == .connecting(failures: 0))
    }

    @Test func failedAttemptsBackOffOnGlidesScheduleAndTheLongestDelayRepeats() {
        var machine = Supervision(strategy: glide, checkInterval: nil)
        machine.add("a", connecting: true)
        var now = t0
        var delays: [Duration] = []
        for _ in 0..<8 {
            // unitRandom 0.5 is the middle of the jitter: the delay as the schedule has it.
            let actions = machine.attemptFailed("a", now: now, definitive: false, unitRandom: 0.5)
            guard case .waiting(_, let until) = machine.nodes["a"] else {
                Issue.record("expected a wait")
                return
            }
            #expect(actions == [.armTimer(until)])
            delays.append(until - now)
            now = until
            #expect(machine.timerFired(now: now) == [.connect("a")])
        }
        #expect(delays == [100, 200, 400, 800, 1600, 3200, 3200, 3200].map { .milliseconds($0) })
        machine.connected("a")
        _ = machine.lost("a")
        _ = machine.attemptFailed("a", now: now, definitive: false, unitRandom: 0.5)
        #expect(machine.nodes["a"] == .waiting(failures: 1, until: now + .milliseconds(100)))  // success reset the count
    }

    @Test func jitterVariesTheDelayByAtMostItsPercentage() {
        var machine = Supervision(strategy: glide, checkInterval: nil)
        machine.add("low", connecting: true)
        machine.add("high", connecting: true)
        _ = machine.attemptFailed("low", now: t0, definitive: false, unitRandom: 0)
        _ = machine.attemptFailed("high", now: t0, definitive: false, unitRandom: 1)
        #expect(machine.nodes["low"] == .waiting(failures: 1, until: t0 + .milliseconds(80)))
        #expect(machine.nodes["high"] == .waiting(failures: 1, until: t0 + .milliseconds(120)))
    }

    @Test func aDefinitiveFailureStopsAttemptsAndAllowsOneOnDemandAfterTheLongestDelay() {
        var machine = Supervision(strategy: glide, checkInterval: nil)
        machine.add("a", connecting: true)
        #expect(machine.attemptFailed("a", now: t0, definitive: true, unitRandom: 0.5) == [.armTimer(t0 + .milliseconds(3200))])
        #expect(machine.timerFired(now: t0 + .seconds(1)).isEmpty)  // nothing in the background
        #expect(machine.timerFired(now: t0 + .milliseconds(3200)) == [.allowRetryOnDemand("a")])
        #expect(machine.nodes["a"] == .stopped(until: nil))
        // No loop: nothing more happens by itself.
        #expect(machine.timerFired(now: t0 + .seconds(60)).isEmpty)
        // New credentials: try at once.
        #expect(machine.retryStopped() == [.connect("a")])
    }

    @Test func timersAreArmedOnlyForAnEarlierDeadlineAndSupersededFiringsDoNothing() {
        var machine = Supervision(strategy: glide, checkInterval: nil)
        machine.add("a", connecting: true)
        machine.add("b", connecting: true)
        #expect(machine.attemptFailed("a", now: t0, definitive: false, unitRandom: 0.5) == [.armTimer(t0 + .milliseconds(100))])
        #expect(machine.attemptFailed("b", now: t0, definitive: false, unitRandom: 0.5 + 0.1).isEmpty)  // later: no new timer
        #expect(machine.timerFired(now: t0 + .milliseconds(50)).isEmpty)
        let fired = machine.timerFired(now: t0 + .milliseconds(100))
        #expect(fired.first == .connect("a"))
        #expect(fired.last == .armTimer(t0 + .milliseconds(104)))
    }

    @Test func thePeriodicCheckRunsEveryInterval() {
        var machine = Supervision(strategy: glide, checkInterval: .seconds(3))
        #expect(machine.start(now: t0) == [.armTimer(t0 + .seconds(3))])
        #expect(machine.timerFired(now: t0 + .seconds(3)) == [.check, .armTimer(t0 + .seconds(6))])
        var unchecked = Supervision(strategy: glide, checkInterval: nil)
        #expect(unchecked.start(now: t0).isEmpty)
    }

    @Test func closingStopsEverything() {
        var machine = Supervision(strategy: glide, checkInterval: .seconds(3))
        _ = machine.start(now: t0)
        machine.add("a", connecting: true)
        machine.close()
        #expect(machine.lost("a").isEmpty)
        #expect(machine.timerFired(now: t0 + .seconds(10)).isEmpty)
        machine.add("b", connecting: true)
        #expect(machine.nodes.isEmpty)
    }
}
