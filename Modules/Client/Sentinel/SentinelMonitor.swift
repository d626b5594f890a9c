import GlideConnection
import GlideTransport

/// Keeps a standalone client's view of its primary in step with the sentinels, as an actor on
/// the client's loop.
///
/// It holds one connection to one sentinel at a time, subscribed to `+switch-master`, and
/// checks it with a `PING` every `checkInterval`. A notice about the client's primary is handed
/// to the supervisor at once; so is the answer each time the sentinels are asked again: when a
/// watching connection is opened (a switch may have happened while none was), and when the
/// primary's connection is lost. A sentinel that stops answering is left for the next in the
/// list; when none answers, the list is tried again after a pause.
///
/// It owns two tasks, the watch and the handling of events, and `close()` ends both.
actor SentinelMonitor<Loop: EventLoop, Connector: StreamConnector> {
    typealias Connection = NodeConnection<Loop, Connector>
    /// Makes a connection to a sentinel that hands its pushes to the given handler.
    typealias MakeConnection = @Sendable (NodeAddress, @escaping @Sendable (RESPToken, Connection) -> Void) -> Connection

    /// What the watching connection and the supervisor report.
    enum Event: Sendable {
        /// A `+switch-master` notice named this primary.
        case switched(NodeAddress)
        /// Ask the sentinels again.
        case ask
    }

    nonisolated let loop: Loop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }
    private let configuration: SentinelConfiguration
    /// The sentinels, the last one that answered first.
    private var order: [NodeAddress]
    private let makeConnection: MakeConnection
    private let declare: @Sendable (SentinelReport) async -> Void
    private let requestTimeout: Duration
    private let checkInterval: Duration
    private nonisolated let events: AsyncStream<Event>.Continuation
    private let stream: AsyncStream<Event>
    /// The connection subscribed to `+switch-master`, while one is.
    private var watching: Connection?
    /// The connection being opened or watched, which `close()` closes.
    private var current: Connection?
    private var watch: Task<Void, Never>?
    private var handling: Task<Void, Never>?
    private var closed = false

    /// A monitor of `configuration`'s sentinels, asking `order` first; `declare` hands the
    /// supervisor what they say.
    init(
        loop: Loop, configuration: SentinelConfiguration, order: [NodeAddress], requestTimeout: Duration, checkInterval: Duration,
        makeConnection: @escaping MakeConnection, declare: @escaping @Sendable (SentinelReport) async -> Void
    ) {
        self.loop = loop
        self.configuration = configuration
        self.order = order
        self.requestTimeout = requestTimeout
        self.checkInterval = checkInterval
        self.makeConnection = makeConnection
        self.declare = declare
        (stream, events) = AsyncStream.makeStream(of: Event.self)
    }

    /// Starts watching and handling events.
    func start() {
        guard !closed, watch == nil else { return }
        // Both owned by this actor: kept in `watch` and `handling`, cancelled and awaited by
        // `close()` (cancelled by `closeWithoutWaiting()`); they run on the actor, so on the loop.
        watch = Task { await self.watchLoop() }
        handling = Task { await self.handleEvents() }
    }

    /// Asks the sentinels again soon (any thread): the primary's connection was lost.
    nonisolated func askAgain() {
        events.yield(.ask)
    }

    // MARK: Asking

    /// Asks `sentinels` in order for `primaryName`'s primary and replicas, and returns the first
    /// answer with the index of the sentinel that gave it.
    ///
    /// Fails with `.configuration` when every sentinel that answered monitors no primary of that
    /// name, `.connectionFailed` when none could be reached, and at once with a sentinel's
    /// refusal of the client's credentials or TLS (`.authenticationFailed`, `.tls`): asking the
    /// others would only hide it.
    static func discover(
        _ sentinels: [NodeAddress], primaryName: String, timeout: Duration, loop: Loop,
        connect make: (NodeAddress) -> Connection
    ) async -> Result<(report: SentinelReport, from: Int), GlideError> {
        var unreachable: [String] = []
        var unaware: [String] = []
        for (index, address) in sentinels.enumerated() where !Task.isCancelled {
            let connection = make(address)
            defer { connection.close() }
            if case .failure(let error) = await connection.connect() {
                if [.authenticationFailed, .permissionDenied, .tls].contains(error.code) { return .failure(error) }
                unreachable.append("\(address) (\(error.message))")
                continue
            }
            switch await ask(connection, primaryName: primaryName, deadline: loop.now() + timeout) {
            case .success(let report?):
                return .success((report, index))
            case .success(nil):
                unaware.append(address.description)
            case .failure(let error):
                if [.authenticationFailed, .permissionDenied].contains(error.code) { return .failure(error) }
                unreachable.append("\(address) (\(error.message))")
            }
        }
        let down = unreachable.isEmpty ? "" : "; not reached: \(unreachable.joined(separator: ", "))"
        if !unaware.isEmpty {
            return .failure(
                GlideError(
                    .configuration,
                    "no sentinel monitors a primary named '\(primaryName)' "
                        + "(asked \(unaware.joined(separator: ", "))\(down))"))
        }
        return .failure(GlideError(.connectionFailed, "no sentinel could be reached: \(unreachable.joined(separator: ", "))"))
    }

    /// One sentinel's answer: the primary and the replicas that can serve, or `nil` when it
    /// monitors no primary named `primaryName`.
    static func ask(_ connection: Connection, primaryName: String, deadline: Deadline) async -> Result<SentinelReport?, GlideError> {
        let named: RESPToken
        switch await sentinel(connection, "GET-PRIMARY-ADDR-BY-NAME", or: "GET-MASTER-ADDR-BY-NAME", primaryName, deadline: deadline) {
        case .failure(let error): return .failure(error)
        case .success(let token): named = token
        }
        guard let primary = SentinelReplies.primaryAddress(named) else { return .success(nil) }
        // Without the replicas the primary is still worth having: they are found again later.
        let replicas = try? await sentinel(connection, "REPLICAS", or: "SLAVES", primaryName, deadline: deadline).get()
        return .success(SentinelReport(primary: primary, replicas: replicas.map(SentinelReplies.replicas) ?? []))
    }

    /// `SENTINEL subcommand name`, in the older spelling when the sentinel doesn't know the new one.
    private static func sentinel(
        _ connection: Connection, _ subcommand: StaticString, or legacy: StaticString, _ name: String,
        deadline: Deadline
    ) async -> Result<RESPToken, GlideError> {
        var result = await connection.send(deadline: deadline) { $0.writeRESPCommand("SENTINEL" as StaticString, subcommand, name) }
        if case .success(let reply) = result, SentinelReplies.isUnknownSubcommand(reply.token) {
            result = await connection.send(deadline: deadline) { $0.writeRESPCommand("SENTINEL" as StaticString, legacy, name) }
        }
        return result.flatMap { reply in
            reply.token.type.isError ? .failure(GlideError.server(reply.token, address: connection.address)) : .success(reply.token)
        }
    }

    // MARK: Watching

    /// Watches one sentinel after another until closed.
    private func watchLoop() async {
        while !Task.isCancelled {
            for address in order {
                guard !Task.isCancelled else { return }
                await watch(address)
            }
            // No sentinel answers: try the list again after a pause.
            try? await Task.sleep(for: checkInterval)
        }
    }

    /// Subscribes to `address`'s notices, asks it for the primary, and stays while it answers.
    private func watch(_ address: NodeAddress) async {
        let events = self.events
        let primaryName = configuration.primaryName
        let connection = makeConnection(address) { push, _ in
            guard case .message(let message) = PubSubPush(push), message.channelName == "+switch-master",
                let primary = SentinelReplies.switchedPrimary(message.message, primaryName: primaryName)
            else { return }
            events.yield(.switched(primary))
        }
        current = connection
        defer {
            connection.close()
            if watching === connection { watching = nil }
            if current === connection { current = nil }
        }
        guard !closed, case .success = await connection.connect() else { return }
        let subscribed = await connection.send(
            deadline: loop.now() + requestTimeout,
            confirmation: PubSubConfirmation(kind: .exact, subscribing: true)
        ) {
            $0.writeRESPCommand("SUBSCRIBE" as StaticString, "+switch-master")
        }
        guard case .success(let reply) = subscribed, !reply.token.type.isError, !closed else { return }
        watching = connection
        // A switch may have happened while no connection was subscribed.
        guard case .success(let report?) = await Self.ask(connection, primaryName: primaryName, deadline: loop.now() + requestTimeout)
        else { return }
        promote(address)
        await declare(report)
        while !Task.isCancelled {
            try? await Task.sleep(for: checkInterval)
            let pong = await connection.send(deadline: loop.now() + requestTimeout) { $0.writeRESPCommand("PING" as StaticString) }
            guard case .success(let reply) = pong, !reply.token.type.isError else { return }
        }
    }

    /// Handles notices and requests to ask again, in order.
    private func handleEvents() async {
        for await event in stream {
            guard !closed else { return }
            switch event {
            case .switched(let primary):
                await declare(SentinelReport(primary: primary, replicas: []))
                // The notice names no replicas: ask for them.
                await askNow()
            case .ask:
                await askNow()
            }
        }
    }

    /// Asks the watched sentinel, or when none is watched every sentinel in turn, and declares
    /// the answer.
    private func askNow() async {
        if let watching,
            case .success(let report?) = await Self.ask(
                watching, primaryName: configuration.primaryName,
                deadline: loop.now() + requestTimeout)
        {
            await declare(report)
            return
        }
        let make = makeConnection
        let outcome = await Self.discover(order, primaryName: configuration.primaryName, timeout: requestTimeout, loop: loop) {
            make($0) { _, _ in }
        }
        guard !closed, case .success(let found) = outcome else { return }
        promote(order[found.from])
        await declare(found.report)
    }

    /// Puts `address` first: it answered.
    private func promote(_ address: NodeAddress) {
        order.removeAll { $0 == address }
        order.insert(address, at: 0)
    }

    // MARK: Life cycle

    /// Ends the watch and the handling of events, and closes the watching connection.
    func close() async {
        closed = true
        events.finish()
        watch?.cancel()
        handling?.cancel()
        current?.close()
        if let watch { await watch.value }
        if let handling { await handling.value }
    }

    /// `close()` from a context that can't wait (the client's `deinit`).
    nonisolated func closeWithoutWaiting() {
        events.finish()
        loop.execute {
            self.assumeIsolated { monitor in
                monitor.closed = true
                monitor.watch?.cancel()
                monitor.handling?.cancel()
                monitor.current?.close()
            }
        }
    }
}
