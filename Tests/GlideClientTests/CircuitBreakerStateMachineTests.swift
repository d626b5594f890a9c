import GlideBuffers
import GlideRESPCodec
import GlideTransport
import Testing

@testable import GlideConnection

/// Transcripts of a node's circuit breaker: when it opens, what it does while open, its probe,
/// and which outcomes count. No sockets: the clock is passed in.
@Suite(.timeLimit(.minutes(1))) struct CircuitBreakerStateMachineTests {
    typealias Machine = CircuitBreakerStateMachine

    static func epoch(_ admission: Machine.Admission) -> UInt64 {
        switch admission {
        case .pass(let epoch), .probe(let epoch): epoch
        case .reject: .max
        }
    }

    /// Admits a request at `now` and records `outcome` for it.
    @discardableResult
    static func request(_ machine: inout Machine, _ outcome: Machine.Outcome, at now: Deadline) -> Machine.Change? {
        machine.record(outcome, epoch: epoch(machine.admit(now: now)), now: now)
    }

    @Test func consecutiveFailuresOpenItAndASuccessBetweenThemStartsTheCountAgain() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 3))
        for _ in 0..<2 { #expect(Self.request(&machine, .failure, at: t0) == nil) }
        Self.request(&machine, .success, at: t0)
        #expect(machine.state == .closed(consecutiveFailures: 0))
        for _ in 0..<2 { #expect(Self.request(&machine, .failure, at: t0) == nil) }
        #expect(machine.state == .closed(consecutiveFailures: 2))
        #expect(
            Self.request(&machine, .failure, at: t0) == .opened(until: t0 + .seconds(5), trips: 1, .consecutiveFailures(3)))
        #expect(machine.state == .open(until: t0 + .seconds(5), trips: 1))
        #expect(!machine.admitsAll)
    }

    @Test func anOpenBreakerRejectsUntilItsTimeThenLetsOneProbeThrough() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(2)))
        Self.request(&machine, .failure, at: t0)
        #expect(machine.admit(now: t0 + .seconds(1)) == .reject(probeAt: t0 + .seconds(2)))
        guard case .probe(let epoch) = machine.admit(now: t0 + .seconds(2)) else {
            Issue.record("expected the probe")
            return
        }
        // While the probe runs, everyone else fails at once.
        #expect(machine.admit(now: t0 + .seconds(2)) == .reject(probeAt: nil))
        #expect(machine.record(.success, epoch: epoch, now: t0 + .seconds(3)) == .closed)
        #expect(machine.state == .closed(consecutiveFailures: 0))
        #expect(machine.admitsAll && machine.successIsNoOp)
    }

    @Test func aFailedProbeOpensItAgainForTwiceAsLongUpToTheLongest() {
        let configuration = CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(1), maximumOpenDuration: .seconds(5))
        var machine = Machine(configuration)
        var now = t0
        var periods: [Duration] = []
        var change = Self.request(&machine, .failure, at: now)
        for _ in 0..<5 {
            guard case .opened(let until, _, _)? = change else {
                Issue.record("expected an opening, got \(String(describing: change))")
                return
            }
            periods.append(until - now)
            now = until
            change = Self.request(&machine, .failure, at: now)  // the probe
        }
        #expect(periods == [1, 2, 4, 5, 5].map { .seconds($0) })
        #expect(change == .opened(until: now + .seconds(5), trips: 6, .probeFailed))
        // A probe that succeeds starts over: the next opening is the first again.
        now = now + .seconds(5)
        #expect(Self.request(&machine, .success, at: now) == .closed)
        #expect(Self.request(&machine, .failure, at: now) == .opened(until: now + .seconds(1), trips: 1, .consecutiveFailures(1)))
    }

    @Test func aBlockingCommandIsNeverTheProbe() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(1)))
        Self.request(&machine, .failure, at: t0)
        // Its open period over, the breaker still refuses a blocking command: it waits for one
        // that can be its probe.
        #expect(machine.admit(now: t0 + .seconds(2), mayProbe: false) == .reject(probeAt: t0 + .seconds(1)))
        #expect(machine.state == .open(until: t0 + .seconds(1), trips: 1))
        guard case .probe = machine.admit(now: t0 + .seconds(2)) else {
            Issue.record("expected the probe")
            return
        }
        #expect(machine.admit(now: t0 + .seconds(2), mayProbe: false) == .reject(probeAt: nil))
    }

    @Test func aProbeThatEndsNeitherWayLetsTheNextRequestProbe() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(1)))
        Self.request(&machine, .failure, at: t0)
        let probe = machine.admit(now: t0 + .seconds(1))
        #expect(machine.record(.neutral, epoch: Self.epoch(probe), now: t0 + .seconds(1)) == nil)
        #expect(machine.state == .halfOpen(trips: 1, probing: false))
        #expect(machine.admit(now: t0 + .seconds(1)) == .probe(epoch: Self.epoch(probe)))
    }

    @Test func outcomesOfRequestsLetThroughBeforeItOpenedChangeNothing() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 2, openDuration: .seconds(1)))
        // Ten requests go while it is closed; they all fail, slowly.
        let early = (0..<10).map { _ in machine.admit(now: t0) }
        #expect(machine.record(.failure, epoch: Self.epoch(early[0]), now: t0) == nil)
        #expect(machine.record(.failure, epoch: Self.epoch(early[1]), now: t0) != nil)
        let state = machine.state
        // The other eight end while it is open: the open period doesn't move.
        for admission in early.dropFirst(2) { #expect(machine.record(.failure, epoch: Self.epoch(admission), now: t0) == nil) }
        #expect(machine.state == state)
        // Nor does a late one change the probe's verdict.
        let probe = machine.admit(now: t0 + .seconds(1))
        #expect(machine.record(.success, epoch: Self.epoch(early[9]), now: t0 + .seconds(1)) == nil)
        #expect(machine.state == .halfOpen(trips: 1, probing: true))
        #expect(machine.record(.success, epoch: Self.epoch(probe), now: t0 + .seconds(1)) == .closed)
    }

    @Test func neutralOutcomesNeitherCountNorResetTheFailures() {
        var machine = Machine(CircuitBreakerConfiguration(consecutiveFailures: 3))
        Self.request(&machine, .failure, at: t0)
        Self.request(&machine, .neutral, at: t0)
        Self.request(&machine, .failure, at: t0)
        #expect(machine.state == .closed(consecutiveFailures: 2))
    }

    @Test func aFailureRateOverTheWindowOpensItOnceEnoughRequestsEnded() {
        var machine = Machine(
            CircuitBreakerConfiguration(consecutiveFailures: 100, failureRate: 0.5, window: .seconds(10), minimumRequests: 10))
        // Alternating, 4 of 8: too few requests to judge.
        for index in 0..<8 { Self.request(&machine, index % 2 == 0 ? .failure : .success, at: t0) }
        #expect(machine.admitsAll)
        #expect(!machine.successIsNoOp)  // successes are counted in the window
        Self.request(&machine, .success, at: t0)
        #expect(
            Self.request(&machine, .failure, at: t0) == .opened(until: t0 + .seconds(5), trips: 1, .failureRate(failures: 5, requests: 10)))
    }

    @Test func failuresOlderThanTheWindowDropOut() {
        var machine = Machine(
            CircuitBreakerConfiguration(consecutiveFailures: 100, failureRate: 0.5, window: .seconds(10), minimumRequests: 4))
        for _ in 0..<3 { Self.request(&machine, .failure, at: t0) }
        Self.request(&machine, .success, at: t0 + .seconds(1))
        // 11 s later the three failures are out of the window: one failure in three requests.
        let later = t0 + .seconds(11)
        Self.request(&machine, .success, at: later)
        Self.request(&machine, .success, at: later)
        #expect(Self.request(&machine, .failure, at: later) == nil)
        #expect(machine.admitsAll)
    }

    @Test func settingsThatCantWorkAreNamed() {
        #expect(CircuitBreakerConfiguration().problem == nil)
        #expect(CircuitBreakerConfiguration(consecutiveFailures: 0).problem != nil)
        #expect(CircuitBreakerConfiguration(failureRate: 1.5).problem != nil)
        #expect(CircuitBreakerConfiguration(openDuration: .seconds(10), maximumOpenDuration: .seconds(5)).problem != nil)
    }
}

/// The breaker shared by a connection's callers: its fast path mirrors the machine, and what it
/// counts as a failure.
@Suite struct CircuitBreakerTests {
    static let reply = ConnectionReply(token: try! RESPToken(validating: Bytes("+OK\r\n")), queuedError: nil)

    @Test func errorRepliesAndCancellationsNeverOpenItTimeoutsAndLostConnectionsDo() {
        let breaker = CircuitBreaker(CircuitBreakerConfiguration(consecutiveFailures: 2), address: "node:1")
        for code in [GlideError.Code.server, .cancelled, .tooManyInflightRequests, .server] {
            guard case .success(let ticket) = breaker.admit(now: t0) else { return #expect(Bool(false)) }
            breaker.finished(ticket, .failure(GlideError(code, "x")), now: t0)
        }
        #expect(breaker.isClosed)
        for code in [GlideError.Code.timeout, .connectionClosed] {
            guard case .success(let ticket) = breaker.admit(now: t0) else { return #expect(Bool(false)) }
            breaker.finished(ticket, .failure(GlideError(code, "x")), now: t0)
        }
        #expect(!breaker.isClosed)
        guard case .failure(let error) = breaker.admit(now: t0 + .seconds(1)) else { return #expect(Bool(false)) }
        #expect(error.code == .circuitOpen)
        #expect(error.address == "node:1")
        #expect(error.message.contains("4000 ms"), "\(error.message)")
    }

    @Test func aBlockingCommandRefusedAfterTheOpenPeriodIsToldWhy() {
        let breaker = CircuitBreaker(CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(1)), address: "n:1")
        guard case .success(let ticket) = breaker.admit(now: t0) else { return #expect(Bool(false)) }
        breaker.finished(ticket, .failure(GlideError(.timeout, "x")), now: t0)
        guard case .failure(let error) = breaker.admit(now: t0 + .seconds(2), blocking: true) else { return #expect(Bool(false)) }
        #expect(error.message.contains("the next request that is not a blocking command goes as its probe"), "\(error.message)")
    }

    @Test func openingsAndClosingsAreReportedWithTheirReason() {
        let reports = Lock<[String]>([])
        let breaker = CircuitBreaker(CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(1)), address: "n:1") {
            opened, description in reports.withLock { $0.append("\(opened) \(description)") }
        }
        guard case .success(let first) = breaker.admit(now: t0) else { return #expect(Bool(false)) }
        breaker.finished(first, .failure(GlideError(.timeout, "x")), now: t0)
        guard case .success(let probe) = breaker.admit(now: t0 + .seconds(1)) else { return #expect(Bool(false)) }
        breaker.finished(probe, .success(Self.reply), now: t0 + .seconds(1))
        #expect(breaker.isClosed)
        #expect(
            reports.withLock { $0 } == [
                "true the circuit breaker of n:1 opened: 1 requests failed in a row; requests to it fail at once for 1000 ms",
                "false the circuit breaker of n:1 closed: its probe request succeeded",
            ])
    }
}
