/// Supervises the connections of one client: reconnects lost ones in the background on the
/// backoff schedule, checks idle ones with a heartbeat, and unblocks cancelled blocking commands.
/// What an owner adds to that (a standalone client follows its nodes' roles) is a
/// `SupervisionFollower`, told of every event on the supervisor's loop.
///
/// It is an actor that runs on the client's event loop (`unownedExecutor`): the loop's callbacks
/// (connection events, its timer) reach it without a thread switch, a connection spread to another
/// loop hands its events over (`NodeConnection.report`), and in tests a manual loop drives it step
/// by step. It carries no request: requests go from the caller to the connection
/// and back without it. Every task it starts is kept, and `close()` ends them all.
public actor ConnectionSupervisor<Loop: EventLoop, Connector: StreamConnector>: ConnectionObserver, TimerHandler {
    /// The connections it supervises.
    public typealias Connection = NodeConnection<Loop, Connector>
    /// Told of a connection's event after the supervisor acted on it.
    public typealias Listener = @Sendable (Connection, ConnectionEvent) -> Void

    /// The loop the supervisor runs on.
    public nonisolated let loop: Loop
    /// How long a heartbeat or a role check may wait for its reply.
    public nonisolated let checkTimeout: Duration
    /// Told of every connection event, after the supervisor acted on it (the cluster client asks
    /// for a topology refresh when a node can't be reached).
    public nonisolated let listener: Listener?
    /// What the client reports: statistics, and the hooks.
    package nonisolated let events: ClientEvents

    /// Runs on the client's loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }

    package var machine: SupervisionStateMachine<ObjectIdentifier>
    package var connections: [ObjectIdentifier: Connection] = [:]
    /// Tasks this supervisor started and `close()` ends.
    package var tasks: [Int: Task<Void, Never>] = [:]
    private var nextTaskID = 0
    package var closed = false
    /// The connections `close()` closed, whose attempts it waits for.
    private var closedConnections: [Connection] = []
    /// What the owner adds to supervision, once it has asked (`follow(with:)`).
    private var follower: (any SupervisionFollower<Connection>)?

    /// A supervisor on `loop` that reconnects on `strategy`'s backoff and checks its connections
    /// every `checkInterval` (`nil`: never), each check waiting `checkTimeout` for its reply.
    /// `listener` is told of every connection event after the supervisor acted on it.
    public init(
        loop: Loop, strategy: BackoffStrategy, checkInterval: Duration?, checkTimeout: Duration, listener: Listener? = nil
    ) {
        self.init(
            loop: loop, strategy: strategy, checkInterval: checkInterval, checkTimeout: checkTimeout,
            events: ClientEvents(observer: nil), listener: listener)
    }

    /// The same, reporting to a client's statistics and hooks through `events`.
    package init(
        loop: Loop, strategy: BackoffStrategy, checkInterval: Duration?, checkTimeout: Duration,
        events: ClientEvents, listener: Listener? = nil
    ) {
        self.events = events
        self.loop = loop
        self.checkTimeout = checkTimeout
        self.listener = listener
        self.machine = SupervisionStateMachine(strategy: strategy, checkInterval: checkInterval)
    }

    /// Starts the periodic check.
    public func start() {
        perform(machine.start(now: loop.now()))
    }

    /// Supervises `connection` from now on; `connecting` says an attempt runs or is about to.
    public func supervise(_ connection: Connection, connecting: Bool) {
        guard !closed else {
            connection.close()
            return
        }
        connections[connection.id] = connection
        machine.add(connection.id, connecting: connecting)
    }

    /// Stops supervising `connection` (a node that left); the caller closes it.
    public func release(_ connection: Connection) {
        connections[connection.id] = nil
        machine.remove(connection.id)
    }

    /// Tells `follower` of every connection event from now on, after the supervisor acted on it,
    /// and asks it at each periodic check; it is told when the supervisor closes.
    public func follow(with follower: some SupervisionFollower<Connection>) {
        guard !closed else {
            follower.supervisorClosed()
            return
        }
        self.follower = follower
    }

    /// Attempts at once for connections stopped by a definitive failure: the credentials changed.
    public func retryStoppedConnections() {
        perform(machine.retryStopped())
    }

    /// Closes every connection, ends every task and timer, and resumes every waiter; returns once
    /// the tasks, the connections' attempts among them, have ended.
    public func close() async {
        for task in beginClose() { await task.value }
        for connection in closedConnections { await connection.attemptEnded() }
    }

    /// `close()` without waiting for the tasks to end, from a context that can't wait.
    public nonisolated func closeWithoutWaiting() {
        loop.execute { self.assumeIsolated { _ = $0.beginClose() } }
    }

    /// Closes everything and cancels the tasks; returns them, to be awaited.
    private func beginClose() -> [Task<Void, Never>] {
        guard !closed else { return Array(tasks.values) }
        closed = true
        machine.close()
        loop.cancelTimers(for: self)
        let all = Array(connections.values)
        closedConnections = all
        connections = [:]
        for connection in all { connection.close() }
        follower?.supervisorClosed()
        follower = nil
        let running = Array(tasks.values)
        for task in running { task.cancel() }
        return running
    }

    // MARK: Events (loop thread)

    /// A supervised connection changed: reconnect, back off, or note it ready.
    public nonisolated func connectionChanged(_ id: ObjectIdentifier, _ event: ConnectionEvent) {
        assumeIsolated { $0.handle(id, event) }
    }

    /// The next attempt or check is due.
    public nonisolated func timerFired(now: Deadline) {
        assumeIsolated { supervisor in supervisor.perform(supervisor.machine.timerFired(now: now)) }
    }

    private func handle(_ id: ObjectIdentifier, _ event: ConnectionEvent) {
        guard !closed, let connection = connections[id] else { return }
        switch event {
        case .ready:
            machine.connected(id)
            events.connected(connection.address)
        case .lost(let summary):
            events.lost(connection.address, summary.message)
            perform(machine.lost(id))
        case .attemptFailed(let summary):
            let now = loop.now()
            perform(machine.attemptFailed(id, now: now, definitive: summary.isDefinitive, unitRandom: Double.random(in: 0...1)))
            if let next = machine.nextAttempt(id) {
                events.attemptFailed(
                    connection.address, summary.message, backoff: summary.isDefinitive ? nil : next.at - now,
                    failures: next.failures)
            }
        }
        follower?.connectionChanged(connection, event)
        listener?(connection, event)
    }

    package func perform(_ actions: [SupervisionStateMachine<ObjectIdentifier>.Action]) {
        for action in actions {
            switch action {
            case .connect(let id):
                connections[id]?.connectNow()
            case .allowRetryOnDemand(let id):
                connections[id]?.allowRetryOnDemand()
            case .check:
                check()
            case .armTimer(let deadline):
                loop.scheduleTimer(at: deadline, handler: self)
            }
        }
    }

    /// The periodic check: a heartbeat for each idle connection, then the follower's check.
    private func check() {
        let deadline = loop.now() + checkTimeout
        for connection in connections.values {
            connection.heartbeat(deadline: deadline)
            if events.observer != nil { events.inflight(connection.address, connection.inflightCount) }
        }
        follower?.periodicCheck()
    }

    // MARK: Tasks

    /// Runs `body` as a task this supervisor owns: `close()` cancels it and waits for it.
    /// Returns the task, for a caller that waits for it too; `nil` once the supervisor is closed.
    @discardableResult
    public func own(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        guard !closed else { return nil }
        let id = nextTaskID
        nextTaskID += 1
        // On the loop, so a manual loop's test drives it too.
        let task = Task(executorPreference: loop) {
            await body()
            await self.taskEnded(id)
        }
        tasks[id] = task
        return task
    }

    private func taskEnded(_ id: Int) {
        tasks[id] = nil
    }

    // MARK: Unblocking cancelled blocking commands

    /// Unblocks a cancelled blocking command from a side connection, in a task of its own.
    public nonisolated func unblockRequested(_ id: ObjectIdentifier, clientID: Int, requestID: UInt64, generation: Int) {
        // From the cancelled task's thread: continue on the loop, where this actor runs.
        loop.execute {
            self.assumeIsolated { supervisor in
                guard !supervisor.closed, let connection = supervisor.connections[id] else { return }
                supervisor.own { await supervisor.unblock(connection, clientID: clientID, requestID: requestID, generation: generation) }
            }
        }
    }

    /// Frees the cancelled command (`NodeConnection.unblockFromSideConnection`).
    private func unblock(_ connection: Connection, clientID: Int, requestID: UInt64, generation: Int) async {
        await connection.unblockFromSideConnection(
            clientID: clientID, requestID: requestID, generation: generation, replyTimeout: checkTimeout)
    }
}
