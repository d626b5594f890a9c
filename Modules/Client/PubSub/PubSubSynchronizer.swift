import GlideTransport

/// The subscriptions a client wants and the ones its subscriber connection has, as
/// `getSubscriptions()` reports them.
public struct PubSubState: Sendable, Hashable {
    /// What the client asked for (configured and dynamic), by kind.
    public var desired: PubSubSubscriptions
    /// What the server confirmed on the subscriber connection, by kind.
    public var actual: PubSubSubscriptions
    /// Channels and patterns the server refused (an ACL without the channel), with why.
    public var refused: [String: String]
}

/// Keeps a client's subscriptions in step with its subscriber connection, as an actor on the
/// client's event loop (GLIDE's synchronizer): it remembers what the caller wants, sends the
/// commands, records what the server confirmed (only that counts as `actual`), and subscribes
/// again as soon as the connection is back after a loss.
///
/// Every `checkInterval` it also asks the server what the connection has (`CLIENT INFO`'s
/// `sub`/`psub` counts) and subscribes again when they differ from what the client wants, so a
/// subscription the server dropped on its own comes back without a reconnection.
///
/// RESP3 only: confirmations and messages arrive as pushes on the shared, multiplexed
/// connection, beside the replies of every other request.
actor PubSubSynchronizer<Loop: EventLoop, Connector: StreamConnector>: EventHandler {
    typealias Connection = NodeConnection<Loop, Connector>

    nonisolated let loop: Loop
    nonisolated let inbox: PubSubInbox
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }
    private let requestTimeout: Duration
    /// How often the subscriber's subscriptions are checked; `nil`: never.
    private let checkInterval: Duration?
    private var checking = false
    private var desired: [PubSubKind: Set<String>] = [:]
    private var actual: [PubSubKind: Set<String>] = [:]
    private var refused: [String: String] = [:]
    /// The connection subscriptions live on, chosen at the first subscription.
    private var subscriber: Connection?
    /// The resubscription under way after a reconnection; `close()` ends it.
    private var resync: Task<Void, Never>?
    /// The subscriber was lost since its subscriptions were last made: its next `ready` resubscribes.
    private var lost = false
    private var closed = false

    init(loop: Loop, inbox: PubSubInbox, requestTimeout: Duration, checkInterval: Duration? = .seconds(3)) {
        self.loop = loop
        self.inbox = inbox
        self.requestTimeout = requestTimeout
        self.checkInterval = checkInterval
    }

    // MARK: Caller's changes

    /// Subscribes `connection`, or the subscriber chosen earlier, to `channels` of `kind`, and
    /// returns once the server confirmed them; a refusal throws, and is kept for `state`.
    func subscribe(_ channels: Set<String>, kind: PubSubKind, on connection: Connection) async throws(GlideError) {
        guard !closed else { throw GlideError(.clientClosed, "the client was closed") }
        let target = subscriber ?? connection
        subscriber = target
        if !checking, let checkInterval {
            // The checks start with the first subscription: a client that never subscribes has no timer.
            checking = true
            loop.scheduleTimer(at: loop.now() + checkInterval, handler: self)
        }
        desired[kind, default: []].formUnion(channels)
        guard !channels.isEmpty else { return }
        do throws(GlideError) {
            try await send(kind.subscribeCommand, channels, on: target)
        } catch {
            // Only the server's refusal is final: a connection lost meanwhile resubscribes when it is back.
            if error.serverCode != nil {
                desired[kind]?.subtract(channels)
                for channel in channels { refused[channel] = error.message }
            }
            throw error
        }
        for channel in channels { refused[channel] = nil }
        actual[kind, default: []].formUnion(channels)
    }

    /// Unsubscribes from `channels` of `kind` (an empty set: from every one of that kind).
    func unsubscribe(_ channels: Set<String>, kind: PubSubKind) async throws(GlideError) {
        let leaving = channels.isEmpty ? desired[kind] ?? [] : channels
        desired[kind]?.subtract(leaving)
        guard let subscriber, !leaving.isEmpty else { return }
        try await send(kind.unsubscribeCommand, leaving, on: subscriber)
        actual[kind]?.subtract(leaving)
    }

    /// What the client wants and has.
    func state() -> PubSubState {
        func subscriptions(_ table: [PubSubKind: Set<String>]) -> PubSubSubscriptions {
            PubSubSubscriptions(exact: table[.exact] ?? [], pattern: table[.pattern] ?? [], sharded: table[.sharded] ?? [])
        }
        return PubSubState(desired: subscriptions(desired), actual: subscriptions(actual), refused: refused)
    }

    // MARK: Connection events (loop thread)

    /// What happened to `connection` (from the supervisor's listener, on the loop): a lost
    /// subscriber has no subscriptions left; a subscriber ready again gets them back at once.
    nonisolated func connectionChanged(_ connection: Connection, _ event: ConnectionEvent) {
        assumeIsolated { $0.handle(connection, event) }
    }

    private func handle(_ connection: Connection, _ event: ConnectionEvent) {
        guard !closed, connection === subscriber else { return }
        switch event {
        case .lost, .attemptFailed:
            actual = [:]
            lost = true
        case .ready:
            guard lost else { return }
            lost = false
            guard desired.values.contains(where: { !$0.isEmpty }) else { return }
            GlideStatistics.pubsubResubscriptions.add(1, ordering: .relaxed)
            resync?.cancel()
            // Owned here: one at a time, cancelled by `close()`. It prefers the loop, as the
            // client's other tasks do.
            resync = Task(executorPreference: loop) { await self.resubscribe(connection) }
        }
    }

    // MARK: The periodic check (loop thread)

    nonisolated func timerFired(now: Deadline) {
        assumeIsolated { $0.checkDue(now: now) }
    }

    nonisolated func readable() {}
    nonisolated func writable() {}

    private func checkDue(now: Deadline) {
        guard !closed, let checkInterval else { return }
        loop.scheduleTimer(at: now + checkInterval, handler: self)
        guard resync == nil, let subscriber, desired.values.contains(where: { !$0.isEmpty }) else { return }
        resync = Task(executorPreference: loop) { await self.verify(subscriber) }
    }

    /// Compares the server's counts for `connection` with what the client wants, and subscribes
    /// again when they differ. A connection that can't answer now is left to its reconnection.
    private func verify(_ connection: Connection) async {
        let result = await connection.send(deadline: loop.now() + requestTimeout) { $0.writeRESPCommand("CLIENT" as StaticString, "INFO" as StaticString) }
        guard !closed, case .success(let reply) = result, let info = reply.token.stringBytes?.string else {
            resync = nil
            return
        }
        let counts = Self.subscriptionCounts(info)
        guard counts.exact != desired[.exact]?.count ?? 0 || counts.pattern != desired[.pattern]?.count ?? 0 else {
            resync = nil
            return
        }
        GlideStatistics.pubsubResubscriptions.add(1, ordering: .relaxed)
        actual = [:]
        await resubscribe(connection)
    }

    /// The `sub` and `psub` counts of a `CLIENT INFO` line.
    static func subscriptionCounts(_ info: String) -> (exact: Int, pattern: Int) {
        var exact = 0
        var pattern = 0
        for field in info.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
            if field.hasPrefix("sub=") { exact = Int(field.dropFirst(4)) ?? 0 }
            if field.hasPrefix("psub=") { pattern = Int(field.dropFirst(5)) ?? 0 }
        }
        return (exact, pattern)
    }

    private func resubscribe(_ connection: Connection) async {
        for kind in PubSubKind.allCases {
            guard !closed, let channels = desired[kind], !channels.isEmpty else { continue }
            do throws(GlideError) {
                try await send(kind.subscribeCommand, channels, on: connection)
                actual[kind, default: []].formUnion(channels)
            } catch {
                if error.serverCode != nil { for channel in channels { refused[channel] = error.message } }
            }
        }
        resync = nil
    }

    // MARK: Life cycle

    /// Stops: ends a resubscription under way and the message stream.
    func close() async {
        closed = true
        loop.cancelTimers(for: self)
        resync?.cancel()
        if let running = resync { await running.value }
        subscriber = nil
        inbox.finish()
    }

    /// `close()` from a context that can't wait (the client's `deinit`).
    nonisolated func closeWithoutWaiting() {
        loop.execute {
            self.assumeIsolated { synchronizer in
                synchronizer.closed = true
                synchronizer.loop.cancelTimers(for: synchronizer)
                synchronizer.resync?.cancel()
                synchronizer.subscriber = nil
                synchronizer.inbox.finish()
            }
        }
    }

    // MARK: Sending

    private func send(_ command: StaticString, _ channels: Set<String>, on connection: Connection) async throws(GlideError) {
        let names = channels.sorted()
        let result = await connection.send(deadline: loop.now() + requestTimeout, replies: names.count, confirmedByPush: true) { buffer in
            buffer.writeRESPCommand(command, names)
        }
        switch result {
        case .failure(let error):
            throw error
        case .success(let reply):
            if reply.token.type.isError { throw GlideError.server(reply.token, address: connection.address) }
        }
    }
}
