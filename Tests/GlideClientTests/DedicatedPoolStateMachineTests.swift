import GlideConnection
import GlideTransport
import Testing

@testable import GlideClient

/// The pool of dedicated connections as transcripts: each event, and what the pool then does.
@Suite struct DedicatedPoolStateMachineTests {
    final class Member: CustomStringConvertible {
        let name: String
        var usable = true
        init(_ name: String) { self.name = name }
        var description: String { name }
    }

    typealias Pool = DedicatedPoolStateMachine<Member, String>

    static func limits(maximum: Int = 2, minimumIdle: Int = 0, lease: Duration? = nil) -> DedicatedPoolConfiguration {
        DedicatedPoolConfiguration(
            maximumConnections: maximum, minimumIdle: minimumIdle, idleTimeout: .seconds(60), acquireTimeout: .seconds(2),
            maximumLease: lease)
    }

    /// The actions, in words: `lend a:m1#1`, `fail b: timeout`, `open 1`, `close m1`, `timer 2.0`.
    static func words(_ actions: Pool.Actions) -> [String] {
        actions.lend.map { "lend \($0.waiter):\($0.member)#\($0.lease)" } + actions.fail.map { "fail \($0.waiter): \($0.error.code)" }
            + (actions.open > 0 ? ["open \(actions.open)"] : []) + actions.close.map { "close \($0)" }
            + (actions.timer.map { ["timer \(Double($0.uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9)"] } ?? [])
    }

    static func acquire(_ pool: inout Pool, _ waiter: String, id: UInt64, at: Duration = .zero) -> [String] {
        words(pool.acquire(waiter, id: id, now: t0 + at, deadline: t0 + at + .seconds(2), isUsable: { $0.usable }))
    }

    @Test func aReturnedConnectionIsLentAgainAndNeverToTwoBorrowers() {
        var pool = Pool(limits: Self.limits())
        let m1 = Member("m1")
        #expect(Self.acquire(&pool, "a", id: 1) == ["open 1", "timer 2.0"])
        #expect(Self.words(pool.opened(m1, now: t0)) == ["lend a:m1#1"])
        // Idle now: its expiry rides on the timer already armed for a's wait (2.0), which re-arms.
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0 + .seconds(1))).isEmpty)
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(2))) == ["timer 61.0"])
        #expect(Self.acquire(&pool, "b", id: 2, at: .seconds(2)) == ["lend b:m1#2"])
        // The first borrower gives it back again (a stale handle): nothing happens.
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0 + .seconds(3))).isEmpty)
        #expect(pool.holds(lease: 2))
        #expect(pool.size == 1)
    }

    @Test func atTheLimitABorrowerWaitsForTheNextReturnOrTimesOut() {
        var pool = Pool(limits: Self.limits(maximum: 1))
        let m1 = Member("m1")
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(m1, now: t0)
        // Full: b and c wait, no connection is opened.
        // Each wait gets a timer of its own, at its deadline.
        #expect(Self.acquire(&pool, "b", id: 2, at: .seconds(1)) == ["timer 3.0"])
        #expect(Self.acquire(&pool, "c", id: 3, at: .milliseconds(1500)) == ["timer 3.5"])
        // a gives it back: b, the longest waiter, gets it.
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0 + .milliseconds(2500))) == ["lend b:m1#2"])
        // c's two seconds run out (the timer armed for a's wait fires first, and re-arms for c).
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(3))) == ["timer 3.5"])
        #expect(Self.words(pool.timerFired(now: t0 + .milliseconds(3500))) == ["fail c: timeout"])
        #expect(pool.waiters.isEmpty)
    }

    @Test func aConnectionThatCantBeCleanedIsClosedAndReplacedForAWaiter() {
        var pool = Pool(limits: Self.limits(maximum: 1))
        let m1 = Member("m1")
        let m2 = Member("m2")
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(m1, now: t0)
        _ = Self.acquire(&pool, "b", id: 2)
        #expect(Self.words(pool.released(lease: 1, reusable: false, now: t0 + .seconds(1))) == ["open 1", "close m1"])
        #expect(Self.words(pool.opened(m2, now: t0 + .seconds(1))) == ["lend b:m2#2"])
    }

    @Test func anIdleConnectionThatDiedIsClosedNotLent() {
        var pool = Pool(limits: Self.limits())
        let m1 = Member("m1")
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(m1, now: t0)
        _ = pool.released(lease: 1, reusable: true, now: t0)
        m1.usable = false
        #expect(Self.acquire(&pool, "b", id: 2) == ["open 1", "close m1", "timer 2.0"])
    }

    @Test func aFailedOpenFailsTheLongestWaiterOnly() {
        var pool = Pool(limits: Self.limits(maximum: 2))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = Self.acquire(&pool, "b", id: 2)
        #expect(pool.opening == 2)
        let refused = GlideError(.connectionFailed, "refused")
        #expect(Self.words(pool.openFailed(refused)) == ["fail a: connection failed"])
        #expect(Self.words(pool.openFailed(refused)) == ["fail b: connection failed"])
        #expect(pool.size == 0)
    }

    @Test func idleConnectionsExpireDownToTheMinimum() {
        var pool = Pool(limits: Self.limits(maximum: 3, minimumIdle: 1))
        let members = [Member("m1"), Member("m2"), Member("m3")]
        for (index, member) in members.enumerated() {
            _ = Self.acquire(&pool, "w\(index)", id: UInt64(index + 1))
            _ = pool.opened(member, now: t0)
        }
        _ = pool.released(lease: 1, reusable: true, now: t0 + .seconds(1))
        _ = pool.released(lease: 2, reusable: true, now: t0 + .seconds(2))
        _ = pool.released(lease: 3, reusable: true, now: t0 + .seconds(3))
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(61))) == ["close m1", "timer 62.0"])
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(62))) == ["close m2"])
        #expect(pool.idle.map(\.member.name) == ["m3"])
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(500))).isEmpty)
    }

    @Test func aLeaseHeldPastTheMaximumIsRevokedAndItsConnectionClosed() {
        var pool = Pool(limits: Self.limits(lease: .seconds(10)))
        let m1 = Member("m1")
        _ = Self.acquire(&pool, "a", id: 1)
        #expect(Self.words(pool.opened(m1, now: t0)) == ["lend a:m1#1"])
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(2))) == ["timer 10.0"])
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(10))) == ["close m1"])
        #expect(!pool.holds(lease: 1))
        // The borrower's late return changes nothing.
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0 + .seconds(11))).isEmpty)
        #expect(pool.size == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueue() {
        var pool = Pool(limits: Self.limits(maximum: 1))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(Member("m1"), now: t0)
        _ = Self.acquire(&pool, "b", id: 2)
        #expect(pool.cancelWait(id: 2)?.1.code == .cancelled)
        #expect(pool.cancelWait(id: 2) == nil)
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0 + .seconds(1))).isEmpty)
        #expect(pool.idle.count == 1)
    }

    @Test func closingFailsWaitersAndClosesEveryConnection() {
        var pool = Pool(limits: Self.limits(maximum: 2))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(Member("m1"), now: t0)
        _ = Self.acquire(&pool, "b", id: 2)
        _ = Self.acquire(&pool, "c", id: 3)
        #expect(Self.words(pool.close()) == ["fail b: client closed", "fail c: client closed", "close m1"])
        // The connection opened for b arrives after: closed at once.
        #expect(Self.words(pool.opened(Member("m2"), now: t0)) == ["close m2"])
        #expect(Self.acquire(&pool, "d", id: 4) == ["fail d: client closed"])
    }

    @Test func withNoIdleTimeAReturnedConnectionCloses() {
        var pool = Pool(
            limits: DedicatedPoolConfiguration(maximumConnections: 2, idleTimeout: .zero, acquireTimeout: .seconds(2)))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(Member("m1"), now: t0)
        #expect(Self.words(pool.released(lease: 1, reusable: true, now: t0)) == ["close m1"])
        #expect(pool.size == 0)
    }

    @Test func aFailedOpenGivesTheWaitersBehindItAnAttemptOfTheirOwn() {
        var pool = Pool(limits: Self.limits(maximum: 2))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(Member("m1"), now: t0)
        #expect(Self.acquire(&pool, "b", id: 2) == ["open 1", "timer 2.0"])
        // At the limit: c waits for what b's open brings.
        #expect(Self.acquire(&pool, "c", id: 3) == ["timer 2.0"])
        #expect(Self.words(pool.openFailed(GlideError(.connectionFailed, "refused"))) == ["fail b: connection failed", "open 1"])
        #expect(Self.words(pool.opened(Member("m2"), now: t0)) == ["lend c:m2#2"])
    }

    @Test func aRevokedLeasesRoomGoesToAWaiter() {
        var pool = Pool(limits: Self.limits(maximum: 1, lease: .seconds(10)))
        _ = Self.acquire(&pool, "a", id: 1)
        _ = pool.opened(Member("m1"), now: t0)
        #expect(Self.acquire(&pool, "b", id: 2, at: .seconds(9)) == ["timer 11.0"])
        #expect(Self.words(pool.timerFired(now: t0 + .seconds(10))) == ["open 1", "close m1", "timer 11.0"])
        #expect(Self.words(pool.opened(Member("m2"), now: t0 + .seconds(10))) == ["lend b:m2#2"])
    }
}
