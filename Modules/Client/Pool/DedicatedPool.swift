import GlideConnection
import GlideTransport
import Synchronization

/// One node's pool of dedicated connections: `DedicatedPoolStateMachine` under a lock, and what
/// it asks for done. Connections are opened by `open` (never reconnecting: a lost one is closed,
/// not repaired), timers run on `loop`, and the pool owns the tasks that connect and those that
/// unblock a cancelled blocking command, ending them when it closes.
///
/// It observes its connections: a blocking command cancelled on a lent one is unblocked from a
/// side connection, as the supervisor does for shared connections, so a value the server handed
/// it first still reaches its caller.
final class DedicatedPool<Loop: EventLoop, Connector: StreamConnector>: TimerHandler, ConnectionObserver, Sendable {
    typealias Connection = NodeConnection<Loop, Connector>
    typealias Waiter = UnsafeContinuation<Result<Lease, GlideError>, Never>
    typealias Machine = DedicatedPoolStateMachine<Connection, Waiter>

    /// A connection lent to one borrower, and the number that proves it.
    struct Lease: Sendable {
        let connection: Connection
        let number: UInt64
    }

    private let machine: Lock<Machine>
    private let loop: Loop
    private let open: @Sendable (DedicatedPool) -> Connection
    /// Whether a connection still suits a borrower (its database is the client's now).
    private let fits: @Sendable (Connection) -> Bool
    /// Whether unblocking a cancelled command may wait this long for each answer.
    private let replyTimeout: Duration
    private let waitIDs = Atomic<UInt64>(0)
    /// The pool's tasks by number, each with the connection it works on: those connecting a new
    /// connection and those unblocking a lent one. `close()` closes the connections (their
    /// connects fail at once) and cancels the tasks; each task removes itself when it ends.
    private let tasks = Lock<(next: Int, running: [Int: (Connection, Task<Void, Never>)])>((0, [:]))

    /// A pool on `loop` whose connections come from `open` (not yet connected), given the pool as
    /// their observer; `fits` says whether one may still be lent.
    init(
        limits: DedicatedPoolConfiguration, loop: Loop, replyTimeout: Duration,
        fits: @escaping @Sendable (Connection) -> Bool = { _ in true },
        open: @escaping @Sendable (DedicatedPool) -> Connection
    ) {
        self.machine = Lock(Machine(limits: limits))
        self.loop = loop
        self.replyTimeout = replyTimeout
        self.fits = fits
        self.open = open
    }

    /// A connection for the caller alone, until it gives it back: an idle one, a new one, or the
    /// next one given back, within the pool's `acquireTimeout`. Cancelling the task ends the wait.
    func borrow() async throws(GlideError) -> Lease {
        let id = waitIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (waiter: Waiter) in
                let now = loop.now()
                let actions = machine.withLock { machine in
                    if Task.isCancelled {
                        var actions = Machine.Actions()
                        actions.fail.append((waiter, GlideError(.cancelled, "the wait for a dedicated connection was cancelled")))
                        return actions
                    }
                    return machine.acquire(
                        waiter, id: id, now: now, deadline: now + machine.limits.acquireTimeout,
                        isUsable: { $0.isReady.load(ordering: .relaxed) && fits($0) })
                }
                perform(actions)
            }
        } onCancel: {
            if let (waiter, error) = machine.withLock({ $0.cancelWait(id: id) }) { waiter.resume(returning: .failure(error)) }
        }
        return try result.get()
    }

    /// The borrower of `lease` is done: its connection goes back for the next borrower when
    /// `reusable` (connected, its state clean), and is closed otherwise.
    func giveBack(_ lease: Lease, reusable: Bool) {
        let now = loop.now()
        let actions = machine.withLock {
            $0.released(
                lease: lease.number, reusable: reusable && lease.connection.isReady.load(ordering: .relaxed) && fits(lease.connection),
                now: now)
        }
        perform(actions)
    }

    /// Whether `lease` is still the borrower's (not revoked by `maximumLease`, not ended by close).
    func holds(_ lease: Lease) -> Bool { machine.withLock { $0.holds(lease: lease.number) } }

    /// Idle and lent connections, and those being opened.
    var size: Int { machine.withLock { $0.size } }

    /// Connections idle now.
    var idleCount: Int { machine.withLock { $0.idle.count } }

    /// Closes every connection, fails every waiter, and ends the connecting tasks.
    func close() {
        perform(machine.withLock { $0.close() })
        let running = tasks.withLock { state in
            defer { state.running.removeAll() }
            return Array(state.running.values)
        }
        for (connection, task) in running {
            connection.close()
            task.cancel()
        }
        // The loop's timers hold the pool (and through it the client's core) until they fire.
        loop.cancelTimers(for: self)
    }

    func timerFired(now: Deadline) {
        perform(machine.withLock { $0.timerFired(now: now) })
    }

    /// Does what the machine asked, outside its lock.
    private func perform(_ actions: Machine.Actions) {
        for connection in actions.close { connection.close() }
        for (waiter, connection, number) in actions.lend {
            waiter.resume(returning: .success(Lease(connection: connection, number: number)))
        }
        for (waiter, error) in actions.fail { waiter.resume(returning: .failure(error)) }
        if let timer = actions.timer { loop.scheduleTimer(at: timer, handler: self) }
        for _ in 0..<actions.open { startOpening() }
    }

    /// Opens one connection; the machine learns how that went.
    private func startOpening() {
        let connection = open(self)
        run(on: connection) { [self] in
            let result = await connection.connect()
            let now = loop.now()
            switch result {
            case .success:
                perform(machine.withLock { $0.opened(connection, now: now) })
            case .failure(let error):
                connection.close()
                perform(machine.withLock { $0.openFailed(error) })
            }
        }
    }

    /// Runs `body` in a task the pool owns, working on `connection`.
    private func run(on connection: Connection, _ body: @escaping @Sendable () async -> Void) {
        // Made under the lock, so the task's own removal (after `body`) finds it there.
        tasks.withLock { state in
            state.next += 1
            let number = state.next
            // Owned by `tasks`: the task removes itself when `body` ends, and `close()` (which
            // `ClientCore.close()` reaches through `closeDedicatedPools()`) cancels it.
            state.running[number] = (
                connection,
                Task { [self] in
                    await body()
                    _ = tasks.withLock { $0.running.removeValue(forKey: number) }
                }
            )
        }
    }

    // MARK: Observing the connections

    func connectionChanged(_ id: ObjectIdentifier, _ event: ConnectionEvent) {
        // Nothing to do: a lost connection is found not ready when it is given back or lent.
    }

    func unblockRequested(_ id: ObjectIdentifier, clientID: Int, requestID: UInt64, generation: Int) {
        guard let connection = machine.withLock({ $0.lentMember(id) }) else { return }
        let replyTimeout = self.replyTimeout
        run(on: connection) {
            await connection.unblockFromSideConnection(
                clientID: clientID, requestID: requestID, generation: generation, replyTimeout: replyTimeout)
        }
    }
}
