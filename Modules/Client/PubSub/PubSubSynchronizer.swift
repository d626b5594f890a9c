import GlideConnection
import GlideTopology
import GlideTransport

/// The subscriptions a client wants and the ones its subscriber connections have, as
/// `getSubscriptions()` reports them.
public struct PubSubState: Sendable, Hashable {
    /// What the client asked for (configured and dynamic), by kind.
    public internal(set) var desired: PubSubSubscriptions
    /// What the servers confirmed, by kind.
    public internal(set) var actual: PubSubSubscriptions
    /// Channels and patterns the server refused (an ACL without the channel), with why.
    public internal(set) var refused: [String: String]
}

/// Keeps a client's subscriptions in step with its connections, as an actor on the client's
/// event loop (GLIDE's synchronizer). `SubscriptionLedger` holds what the caller wants and what
/// each connection has; `Placement` says where each subscription belongs now. Every change runs
/// the ledger's plan until nothing is left to do:
/// - a caller's `subscribe`/`unsubscribe`, which returns once the server confirmed it;
/// - a connection ready again after a loss (it has no subscriptions left);
/// - a topology change (a sharded channel follows its slot; subscriptions leave a node that left);
/// - the server unsubscribing a connection on its own (a slot that moved away);
/// - every `checkInterval`, a check of the servers' own counts (`CLIENT INFO`'s `sub`, `psub`,
///   `ssub`), which catches a subscription dropped without a word.
///
/// One plan runs at a time: callers and repairs take turns through a gate, so the ledger never
/// sees two commands race for one channel.
actor PubSubSynchronizer<Placement: PubSubPlacement>: TimerHandler {
    typealias Loop = Placement.Loop
    typealias Connection = NodeConnection<Placement.Loop, Placement.Connector>
    typealias Ledger = SubscriptionLedger<Subscriber<Connection>>

    nonisolated let loop: Loop
    nonisolated let inbox: PubSubInbox
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }
    let placement: Placement
    /// What the client reports: statistics, and the hooks.
    private let events: ClientEvents
    private let requestTimeout: Duration
    /// How often the servers' counts are checked; `nil`: never.
    private let checkInterval: Duration?
    private var checking = false
    private var ledger = Ledger()
    /// Where exact and pattern subscriptions live, chosen at the first one.
    private var home: Connection?
    private var closed = false

    // The gate: one plan at a time.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The connection a command is on its way to, and whether it was lost or reconnected since:
    /// a confirmation from before that is not the new connection's.
    private var sendingTo: ObjectIdentifier?
    private var disturbed = false

    /// The background repair; `close()` ends it. Requests while it runs set `repairAgain`.
    private var repair: Task<Void, Never>?
    private var repairAgain = false
    private var verifyDue = false

    init(
        loop: Loop, inbox: PubSubInbox, placement: Placement, requestTimeout: Duration, checkInterval: Duration? = .seconds(3),
        events: ClientEvents = ClientEvents(observer: nil)
    ) {
        self.events = events
        self.loop = loop
        self.inbox = inbox
        self.placement = placement
        self.requestTimeout = requestTimeout
        self.checkInterval = checkInterval
    }

    // MARK: Caller's changes

    /// Subscribes to `channels` of `kind` and returns once the server confirmed them. A refusal
    /// throws and is kept for `state`; a connection that fails throws too, and the subscription
    /// is made when the connection is back.
    func subscribe(_ channels: Set<String>, kind: PubSubKind) async throws(GlideError) {
        await enter()
        defer { leave() }
        guard !closed else { throw GlideError(.clientClosed, "the client was closed") }
        startChecks()
        ledger.want(channels, kind: kind)
        let outcome = await reconcile()
        for channel in channels.sorted() {
            if let failure = outcome.failures[kind]?[channel] { throw failure }
        }
        let confirmed = ledger.allActual[kind] ?? []
        if let unplaced = channels.sorted().first(where: { !confirmed.contains($0) && ledger.desired[kind]?.contains($0) == true }) {
            throw GlideError(.connectionFailed, "no node can take the subscription to \(unplaced) now; it is made as soon as one can")
        }
    }

    /// Makes the subscriptions a configuration gives (at `create`).
    func subscribe(_ subscriptions: PubSubSubscriptions) async throws(GlideError) {
        for (kind, channels) in [
            (PubSubKind.exact, subscriptions.exact), (.pattern, subscriptions.pattern),
            (.sharded, subscriptions.sharded),
        ] where !channels.isEmpty {
            try await subscribe(channels, kind: kind)
        }
    }

    /// Unsubscribes from `channels` of `kind` (an empty set: from every one of that kind).
    func unsubscribe(_ channels: Set<String>, kind: PubSubKind) async throws(GlideError) {
        await enter()
        defer { leave() }
        guard !closed else { throw GlideError(.clientClosed, "the client was closed") }
        ledger.drop(channels, kind: kind)
        let outcome = await reconcile()
        if let failure = outcome.failures[kind]?.sorted(by: { $0.key < $1.key }).first?.value { throw failure }
    }

    /// What the client wants and has.
    func state() -> PubSubState {
        func subscriptions(_ table: [PubSubKind: Set<String>]) -> PubSubSubscriptions {
            PubSubSubscriptions(exact: table[.exact] ?? [], pattern: table[.pattern] ?? [], sharded: table[.sharded] ?? [])
        }
        return PubSubState(desired: subscriptions(ledger.desired), actual: subscriptions(ledger.allActual), refused: ledger.refused)
    }

    // MARK: Events (loop thread)

    /// What happened to `connection` (from the supervisor's listener, on the loop): a connection
    /// lost, or ready again, has no subscriptions; the ready one gets them back at once.
    nonisolated func connectionChanged(_ connection: Connection, _ event: ConnectionEvent) {
        assumeIsolated { $0.handle(connection, event) }
    }

    private func handle(_ connection: Connection, _ event: ConnectionEvent) {
        guard !closed else { return }
        if sendingTo == ObjectIdentifier(connection) { disturbed = true }
        let target = Subscriber(connection)
        let hadSubscriptions = ledger.actual[target] != nil
        ledger.lost(target)
        switch event {
        case .ready:
            if ledger.wantsAny { scheduleRepair() }
        case .lost, .attemptFailed:
            // A cluster node that went down: its exact and pattern subscriptions move to another
            // node now. (A standalone primary stays usable: its `ready` brings them back.)
            if hadSubscriptions && !placement.isUsable(connection) { scheduleRepair() }
        }
    }

    /// The server unsubscribed `connection` from a channel on its own (from the push, on the
    /// connection's loop): a sharded channel whose slot moved away. It is subscribed again where
    /// it belongs.
    nonisolated func serverUnsubscribed(_ confirmation: PubSubConfirmation, channel: Bytes?, on connection: Connection) {
        guard let channel else { return }
        let forget: @Sendable (isolated PubSubSynchronizer) -> Void = { synchronizer in
            guard !synchronizer.closed else { return }
            synchronizer.ledger.serverUnsubscribed(channel.string, kind: confirmation.kind, target: Subscriber(connection))
            if synchronizer.ledger.wantsAny { synchronizer.scheduleRepair() }
        }
        // A connection spread to another loop hands it over, after that connection's earlier
        // events (they take the same way: `NodeConnection.report`).
        if loop.inEventLoop { assumeIsolated(forget) } else { loop.execute { self.assumeIsolated(forget) } }
    }

    /// The topology changed (from any thread): subscriptions follow it.
    nonisolated func topologyChanged() {
        loop.execute { self.assumeIsolated { if !$0.closed && $0.ledger.wantsAny { $0.scheduleRepair() } } }
    }

    nonisolated func timerFired(now: Deadline) {
        assumeIsolated { $0.checkDue(now: now) }
    }

    private func startChecks() {
        // The checks start with the first subscription: a client that never subscribes has no timer.
        guard !checking, let checkInterval else { return }
        checking = true
        loop.scheduleTimer(at: loop.now() + checkInterval, handler: self)
    }

    private func checkDue(now: Deadline) {
        guard !closed, let checkInterval else { return }
        loop.scheduleTimer(at: now + checkInterval, handler: self)
        guard ledger.wantsAny else { return }
        verifyDue = true
        scheduleRepair()
    }

    // MARK: Repairs

    /// Starts a repair, or asks the running one for another round.
    private func scheduleRepair() {
        guard repair == nil else {
            repairAgain = true
            return
        }
        // Owned here, one at a time, and ended by `close()`; it prefers the loop, as the client's
        // other tasks do.
        repair = Task(executorPreference: loop) { await self.runRepairs() }
    }

    private func runRepairs() async {
        repeat {
            repairAgain = false
            await enter()
            if !closed {
                if verifyDue {
                    verifyDue = false
                    await verify()
                }
                if await reconcile().subscribed { events.resubscribed() }
            }
            leave()
        } while repairAgain && !closed
        repair = nil
    }

    /// Asks each subscribed connection how many subscriptions the server holds for it, and
    /// forgets what a connection whose counts differ has, so the plan makes them again.
    private func verify() async {
        guard placement.answersClientInfo else { return }
        for target in ledger.actual.keys {
            let connection = target.connection
            guard placement.isUsable(connection) else { continue }
            let result = await connection.send(deadline: loop.now() + requestTimeout) {
                $0.writeRESPCommand("CLIENT" as StaticString, "INFO" as StaticString)
            }
            guard !closed, case .success(let reply) = result, !reply.token.type.isError,
                let info = reply.token.stringBytes?.string
            else { continue }
            let server = Self.subscriptionCounts(info)
            let expected = ledger.counts(on: target)
            if server != expected { ledger.lost(target) }
        }
    }

    /// The `sub`, `psub` and `ssub` counts of a `CLIENT INFO` line.
    static func subscriptionCounts(_ info: String) -> (exact: Int, pattern: Int, sharded: Int) {
        var counts = (exact: 0, pattern: 0, sharded: 0)
        for field in info.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
            if field.hasPrefix("sub=") { counts.exact = Int(field.dropFirst(4)) ?? 0 }
            if field.hasPrefix("psub=") { counts.pattern = Int(field.dropFirst(5)) ?? 0 }
            if field.hasPrefix("ssub=") { counts.sharded = Int(field.dropFirst(5)) ?? 0 }
        }
        return counts
    }

    // MARK: Planning and sending

    /// Runs the ledger's plan until nothing is left or only retries later would help (a `MOVED`
    /// plans again at once, a few times at most). Returns each failed channel's error, and
    /// whether anything was subscribed.
    private func reconcile() async -> (failures: [PubSubKind: [String: GlideError]], subscribed: Bool) {
        var failures: [PubSubKind: [String: GlideError]] = [:]
        var subscribed = false
        for _ in 0..<4 {
            placement.willPlan()
            let homeTarget = currentHome().map(Subscriber.init)
            let placement = self.placement
            let steps = ledger.plan(
                place: { kind, channel in
                    kind == .sharded ? placement.owner(ofSlot: HashSlot.of(channel)).map(Subscriber.init) : homeTarget
                },
                group: { kind, channel in kind == .sharded ? Int(HashSlot.of(channel)) : 0 })
            guard !steps.isEmpty else { break }
            var again = false
            for step in steps {
                guard !closed else { return (failures, subscribed) }
                let connection = step.target.connection
                if !step.subscribing && !placement.isMember(connection) {
                    // A node that left: nothing there to undo.
                    ledger.confirmed(step)
                    continue
                }
                sendingTo = ObjectIdentifier(connection)
                disturbed = false
                let error = await send(step)
                sendingTo = nil
                if disturbed {
                    // Lost or reconnected meanwhile: a confirmation is not the new connection's.
                    again = true
                    continue
                }
                guard let error else {
                    ledger.confirmed(step)
                    subscribed = subscribed || step.subscribing
                    for channel in step.channels { failures[step.kind]?[channel] = nil }
                    continue
                }
                for channel in step.channels { failures[step.kind, default: [:]][channel] = error }
                // A connection that failed is left to its reconnection, whose `ready` repairs.
                guard error.serverCode != nil else { continue }
                switch placement.retry(after: error, from: connection) {
                case .now: again = true
                case .later: break
                case .never: ledger.refused(step, reason: error.message)
                }
            }
            guard again else { break }
        }
        return (failures, subscribed)
    }

    /// Where exact and pattern subscriptions go: the node chosen before while it is usable,
    /// another one otherwise.
    private func currentHome() -> Connection? {
        if let home, placement.isUsable(home) { return home }
        home = placement.anyNode() ?? home
        return home
    }

    /// Sends `step`'s command; `nil` once the server confirmed every channel.
    private func send(_ step: Ledger.Step) async -> GlideError? {
        let connection = step.target.connection
        let command = step.subscribing ? step.kind.subscribeCommand : step.kind.unsubscribeCommand
        let channels = step.channels
        let result = await connection.send(
            deadline: loop.now() + requestTimeout, replies: channels.count,
            confirmation: PubSubConfirmation(kind: step.kind, subscribing: step.subscribing)
        ) {
            $0.writeRESPCommand(command, channels)
        }
        switch result {
        case .failure(let error):
            return error
        case .success(let reply):
            return reply.token.type.isError ? GlideError.server(reply.token, address: connection.address) : nil
        }
    }

    // MARK: The gate

    private func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    // MARK: Life cycle

    /// Stops: ends a repair under way, the checks and the message stream.
    func close() async {
        closed = true
        loop.cancelTimers(for: self)
        repair?.cancel()
        if let running = repair { await running.value }
        home = nil
        inbox.finish()
    }

    /// `close()` from a context that can't wait (the client's `deinit`).
    nonisolated func closeWithoutWaiting() {
        loop.execute {
            self.assumeIsolated { synchronizer in
                synchronizer.closed = true
                synchronizer.loop.cancelTimers(for: synchronizer)
                synchronizer.repair?.cancel()
                synchronizer.home = nil
                synchronizer.inbox.finish()
            }
        }
    }
}

/// A connection as the ledger names it: by identity.
struct Subscriber<Connection: AnyObject & Sendable>: Hashable, Sendable {
    let connection: Connection

    init(_ connection: Connection) {
        self.connection = connection
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.connection === rhs.connection }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(connection)) }
}
