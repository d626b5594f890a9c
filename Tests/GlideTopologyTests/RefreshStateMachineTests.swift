import GlideTopology
import Testing

@Suite(.timeLimit(.minutes(2))) struct RefreshStateMachineTests {
    typealias Machine = TopologyRefreshStateMachine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now
    func at(_ seconds: Double) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(Int(seconds * 1000))) }
    func wake(_ seconds: Double) -> Machine.Action { Machine.Action(startRefresh: false, wakeUp: at(seconds)) }
    let refresh = Machine.Action(startRefresh: true, wakeUp: nil)

    @Test func periodicCheckRunsEveryInterval() {
        var machine = Machine(policy: .init())
        #expect(machine.start(now: at(0)) == wake(60))
        #expect(machine.timerFired(now: at(60)) == refresh)
        #expect(machine.isRefreshing)
        #expect(machine.refreshFinished(now: at(60.5), succeeded: true) == wake(120.5))
    }

    @Test func aStormOfMovedRepliesCausesOneRefreshAndOneFollowUp() {
        var machine = Machine(policy: .init())
        _ = machine.start(now: at(0))
        #expect(machine.refreshRequested(now: at(5)) == refresh)
        for step in 1...100 {
            #expect(machine.refreshRequested(now: at(5 + Double(step) / 1000)) == .none)
        }
        #expect(machine.hasPendingRequest)
        // It ends 0.2 s later: the follow-up waits for the rate limit (1 s after the last start).
        #expect(machine.refreshFinished(now: at(5.2), succeeded: true) == wake(6))
        #expect(machine.timerFired(now: at(6)) == refresh)
        #expect(machine.refreshFinished(now: at(6.1), succeeded: true) == wake(66.1))
        #expect(!machine.hasPendingRequest)
    }

    @Test func requestsInsideTheRateLimitWaitForIt() {
        var machine = Machine(policy: .init(periodicInterval: .seconds(60), minimumInterval: .seconds(2)))
        _ = machine.start(now: at(0))
        #expect(machine.refreshRequested(now: at(0.5)) == wake(2))
        #expect(machine.refreshRequested(now: at(1)) == .none)  // already armed for 2 s
        #expect(machine.timerFired(now: at(2)) == refresh)
        #expect(machine.refreshFinished(now: at(2.1), succeeded: true) == wake(62.1))
        #expect(machine.refreshRequested(now: at(10)) == refresh)
    }

    @Test func aFailedRefreshIsRetriedAfterTheMinimumInterval() {
        var machine = Machine(policy: .init())
        _ = machine.start(now: at(0))
        #expect(machine.refreshRequested(now: at(3)) == refresh)
        #expect(machine.refreshFinished(now: at(3.1), succeeded: false) == wake(4))
        #expect(machine.timerFired(now: at(4)) == refresh)
        // Finishing after the limit already passed starts the retry at once.
        #expect(machine.refreshFinished(now: at(5.5), succeeded: false) == refresh)
    }

    @Test func disabledPeriodicChecksOnlyRefreshOnDemand() {
        var machine = Machine(policy: .init(periodicInterval: nil))
        #expect(machine.start(now: at(0)) == .none)
        #expect(machine.timerFired(now: at(1000)) == .none)
        #expect(machine.refreshRequested(now: at(1000)) == refresh)
        #expect(machine.refreshFinished(now: at(1001), succeeded: true) == .none)
    }

    @Test func anEarlyOrStaleTimerIsHarmless() {
        var machine = Machine(policy: .init())
        _ = machine.start(now: at(0))
        #expect(machine.timerFired(now: at(30)) == wake(60))
        #expect(machine.timerFired(now: at(60)) == refresh)
        #expect(machine.timerFired(now: at(61)) == .none)  // a second timer while refreshing
    }
}
