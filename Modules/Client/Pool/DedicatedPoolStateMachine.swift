import GlideConnection
import GlideTransport

/// The bookkeeping of one node's pool of dedicated connections, as a pure value: what is idle,
/// what is lent and to whom, what is being opened, and who waits. Every event returns what to do
/// (lend, open, close, fail a waiter); the pool that holds it does that, and owns the clock.
///
/// `Member` is a connection, `Waiter` whoever waits for one. A lease is a number that is never
/// reused, so a connection given back twice, or by a borrower whose lease was revoked, is
/// recognised and ignored: a connection is never with two borrowers at once.
struct DedicatedPoolStateMachine<Member: AnyObject, Waiter> {
    /// What the pool is allowed.
    let limits: DedicatedPoolConfiguration

    private(set) var idle: [(member: Member, since: Deadline)] = []
    private(set) var lent: [UInt64: (member: Member, since: Deadline)] = [:]
    /// Connections being opened.
    private(set) var opening = 0
    private(set) var waiters: [(id: UInt64, waiter: Waiter, deadline: Deadline)] = []
    private(set) var isClosed = false
    private var nextLease: UInt64 = 1
    /// The earliest deadline a timer is armed for: a later idle expiry or lease end rides on it
    /// (the timer re-arms for what is due next), so a busy pool does not pile up timers. A
    /// waiter's deadline always gets a timer of its own.
    private var armed: Deadline?

    init(limits: DedicatedPoolConfiguration) {
        self.limits = limits
    }

    /// Every connection the pool holds, idle, lent or being opened.
    var size: Int { idle.count + lent.count + opening }

    /// The lent connection `id` names, if one is lent.
    func lentMember(_ id: ObjectIdentifier) -> Member? {
        lent.values.first { ObjectIdentifier($0.member) == id }?.member
    }

    /// What to do after an event. `lend` and `fail` name the waiter; `open` asks for one more
    /// connection (its outcome is `opened` or `openFailed`); `close` gives connections up.
    struct Actions {
        var lend: [(waiter: Waiter, member: Member, lease: UInt64)] = []
        var fail: [(waiter: Waiter, error: GlideError)] = []
        var open = 0
        var close: [Member] = []
        /// Arm the pool's timer for this deadline.
        var timer: Deadline?
    }

    // MARK: Borrowing

    /// `waiter` (request `id`) wants a connection by `deadline`: the most recently returned idle
    /// one that `isUsable`, at once; else a new one once opened, if the pool may grow; else a wait.
    mutating func acquire(_ waiter: Waiter, id: UInt64, now: Deadline, deadline: Deadline, isUsable: (Member) -> Bool) -> Actions {
        var actions = Actions()
        guard !isClosed else {
            actions.fail.append((waiter, Self.closedError))
            return actions
        }
        while let (member, _) = idle.popLast() {
            guard isUsable(member) else {
                actions.close.append(member)
                continue
            }
            actions.lend.append((waiter, member, lend(member, now: now, into: &actions)))
            return actions
        }
        waiters.append((id, waiter, deadline))
        if size < limits.maximumConnections && opening < waiters.count {
            opening += 1
            actions.open = 1
        }
        // A waiter's deadline gets a timer of its own, so its end never depends on another timer
        // firing and re-arming; waits are few (the pool is at its limit), so they don't pile up.
        actions.timer = deadline
        armed = min(armed ?? deadline, deadline)
        return actions
    }

    /// A waiter's task was cancelled: it stops waiting, and gets the error to resume with.
    mutating func cancelWait(id: UInt64) -> (Waiter, GlideError)? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return (waiters.remove(at: index).waiter, GlideError(.cancelled, "the wait for a dedicated connection was cancelled"))
    }

    /// A connection asked for by `open` is ready: the longest waiter gets it, or it goes idle.
    mutating func opened(_ member: Member, now: Deadline) -> Actions {
        opening -= 1
        var actions = Actions()
        guard !isClosed else {
            actions.close.append(member)
            return actions
        }
        give(member, now: now, into: &actions)
        return actions
    }

    /// Opening a connection failed: the longest waiter gets the error, unless a connection on its
    /// way is enough for the waiters (then they keep waiting for it).
    mutating func openFailed(_ error: GlideError) -> Actions {
        opening -= 1
        var actions = Actions()
        if waiters.count > opening, !waiters.isEmpty {
            actions.fail.append((waiters.removeFirst().waiter, error))
        }
        // Waiters queued at the limit behind the failed one get attempts of their own.
        openForWaiters(into: &actions)
        return actions
    }

    /// The borrower of `lease` gave its connection back; `reusable` when it is connected and in
    /// a clean state. A lease already ended (given back, revoked, or the pool closed) changes
    /// nothing.
    mutating func released(lease: UInt64, reusable: Bool, now: Deadline) -> Actions {
        var actions = Actions()
        guard let (member, _) = lent.removeValue(forKey: lease) else { return actions }
        guard reusable, !isClosed else {
            actions.close.append(member)
            // Room for a new one, for a waiter no connection is on its way to.
            openForWaiters(into: &actions)
            return actions
        }
        give(member, now: now, into: &actions)
        return actions
    }

    /// Whether `lease` is still held.
    func holds(lease: UInt64) -> Bool { lent[lease] != nil }

    // MARK: Time

    /// The timer fired at `now`: waiters past their deadline fail; idle connections past the idle
    /// timeout close (down to the minimum), and leases past `maximumLease` are revoked (their
    /// connection closed, never lent again).
    mutating func timerFired(now: Deadline) -> Actions {
        var actions = Actions()
        if let armed, armed <= now { self.armed = nil }
        var next = Deadline.distantFuture
        var waiting: [(id: UInt64, waiter: Waiter, deadline: Deadline)] = []
        for entry in waiters {
            if entry.deadline <= now {
                actions.fail.append((entry.waiter, exhaustedError))
            } else {
                waiting.append(entry)
                next = min(next, entry.deadline)
            }
        }
        waiters = waiting
        // Oldest first: the idle list is in return order.
        while idle.count > limits.minimumIdle, let oldest = idle.first, oldest.since + limits.idleTimeout <= now {
            actions.close.append(idle.removeFirst().member)
        }
        if idle.count > limits.minimumIdle, let oldest = idle.first { next = min(next, oldest.since + limits.idleTimeout) }
        if let maximumLease = limits.maximumLease {
            for (lease, entry) in lent {
                if entry.since + maximumLease <= now {
                    lent[lease] = nil
                    actions.close.append(entry.member)
                } else {
                    next = min(next, entry.since + maximumLease)
                }
            }
            // A revoked lease's room goes to waiters.
            openForWaiters(into: &actions)
        }
        if next != .distantFuture { arm(next, into: &actions) }
        return actions
    }

    // MARK: Closing

    /// The client closes: waiters fail, and every connection, idle or lent, closes (a borrower's
    /// later commands fail).
    mutating func close() -> Actions {
        var actions = Actions()
        guard !isClosed else { return actions }
        isClosed = true
        actions.fail = waiters.map { ($0.waiter, Self.closedError) }
        waiters.removeAll()
        actions.close = idle.map(\.member) + lent.values.map(\.member)
        idle.removeAll()
        lent.removeAll()
        return actions
    }

    // MARK: Helpers

    private mutating func lend(_ member: Member, now: Deadline, into actions: inout Actions) -> UInt64 {
        let lease = nextLease
        nextLease += 1
        lent[lease] = (member, now)
        if let maximumLease = limits.maximumLease { arm(now + maximumLease, into: &actions) }
        return lease
    }

    /// Opens connections for the waiters no connection is on its way to, as far as the pool may grow.
    private mutating func openForWaiters(into actions: inout Actions) {
        guard !isClosed else { return }
        let wanted = min(waiters.count - opening, limits.maximumConnections - size)
        guard wanted > 0 else { return }
        opening += wanted
        actions.open += wanted
    }

    /// Asks for the timer at `deadline`, unless one armed no later covers it.
    private mutating func arm(_ deadline: Deadline, into actions: inout Actions) {
        guard armed.map({ deadline < $0 }) ?? true else { return }
        armed = deadline
        actions.timer = deadline
    }

    /// Hands `member` to the longest waiter, or keeps it idle.
    private mutating func give(_ member: Member, now: Deadline, into actions: inout Actions) {
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst().waiter
            actions.lend.append((waiter, member, lend(member, now: now, into: &actions)))
        } else if limits.idleTimeout == .zero && idle.count >= limits.minimumIdle {
            // No idle time: given back, it closes (a connection per borrower).
            actions.close.append(member)
        } else {
            idle.append((member, now))
            if idle.count > limits.minimumIdle, let oldest = idle.first { arm(oldest.since + limits.idleTimeout, into: &actions) }
        }
    }

    private var exhaustedError: GlideError {
        let held = "\(lent.count) of at most \(limits.maximumConnections) lent" + (opening > 0 ? ", \(opening) being opened" : "")
        return GlideError(
            .timeout,
            "no dedicated connection came free within \(limits.acquireTimeout) (\(held)): raise "
                + "dedicatedConnections.maximumConnections, or give connections back sooner")
    }

    static var closedError: GlideError { GlideError(.clientClosed, "the client was closed") }
}
