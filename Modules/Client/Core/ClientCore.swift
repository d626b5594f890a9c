import GlideCompression
import GlideConnection
import GlideTLS
import GlideTransport
import Synchronization

/// What `GlideClient` and `GlideClusterClient` share, so that they differ only in how they pick
/// a node: the options every connection is made with, the supervisor that keeps connections
/// alive, the credentials and database that survive reconnection, deadlines, password rotation
/// and the life cycle.
///
/// Generic over the event loop and how a node is reached: the clients use the epoll loop and
/// sockets; tests run the same core on a manual loop over memory pipes.
final class ClientCore<Loop: EventLoop, Connector: StreamConnector>: Sendable {
    typealias Connection = NodeConnection<Loop, Connector>
    typealias Supervisor = ConnectionSupervisor<Loop, Connector>

    let options: ClientOptions
    /// The client's home loop: its supervisor, timers and coordination run there, and so do its
    /// connections unless they are spread (see `connectionLoops`).
    let loop: Loop
    /// The loops node connections are spread over, the home loop first: only the home loop unless
    /// a cluster client asks for more (`eventLoopCount`).
    let connectionLoops: [Loop]
    /// How a connection reaches the node at an address over a loop (TCP or a Unix socket, with
    /// the client's TLS; a memory pipe in tests).
    let makeConnector: @Sendable (NodeAddress, Loop) -> Connector
    /// The turn of `spreadLoop()`.
    private let spreadTurn = Atomic<UInt>(0)
    let supervisor: Supervisor
    /// The credentials new connections authenticate with: the configured ones until
    /// `updateConnectionPassword` replaces the password.
    let credentials: Lock<ServerCredentials?>
    /// The client-side cache, when the configuration asks for one.
    let cache: ClientSideCacheStore?
    /// Shares identical single reads not yet written on a connection (`coalescesReads`).
    let coalescer: ReadCoalescer?
    /// Races slow replica reads against another node, when the configuration asks for it.
    let hedger: ReadHedger<Loop, Connector>?
    /// The hooks for logs, metrics and traces, when the configuration has any.
    let observer: Observer?
    /// What `events()` streams.
    let eventStream = ClientEvents.makeStream()
    /// What the client reports: statistics, the streams of `events()`, and the hooks.
    var events: ClientEvents { ClientEvents(observer: observer, stream: eventStream) }
    private let isClosed = Atomic<Bool>(false)
    /// Fired when the client is closed, for `run()`.
    let closeSignal = CloseSignal()
    /// The refreshes of a credentials provider with a `refreshInterval`; `close()` ends it.
    let credentialRefresh = Lock<Task<Void, Never>?>(nil)
    /// Compresses and decompresses values, when the configuration asks for it.
    let compressor: ValueCompressor?
    /// Where new connections' TLS context comes from; `nil` without TLS. `reloadTLS()` rebuilds it.
    let tls: TLSContextProvider?
    /// The database new connections select: the configured one until a `SELECT` on the standalone
    /// client changes it.
    let selectedDatabase: Atomic<Int>
    /// The pools of dedicated connections, by node: `close()` closes them.
    let dedicatedPools = Lock<[NodeAddress: DedicatedPool<Loop, Connector>]?>([:])
    /// The open monitors' connections and streams, by connection: `close()` ends them.
    let monitors = Lock<[ObjectIdentifier: (Connection, AsyncThrowingStream<MonitorLine, any Error>.Continuation)]>([:])

    init(
        options: ClientOptions, loop: Loop, spreadOver extraLoops: [Loop] = [],
        makeConnector: @escaping @Sendable (NodeAddress, Loop) -> Connector,
        tls: TLSContextProvider? = nil, cache: ClientSideCacheStore? = nil, listener: Supervisor.Listener? = nil
    ) {
        self.options = options
        self.compressor = options.compression.map(ValueCompressor.init)
        self.tls = tls
        self.cache = cache
        self.selectedDatabase = Atomic(options.databaseID)
        let observer = options.observability.map { Observer($0, database: options.databaseID) }
        self.observer = observer
        self.loop = loop
        self.hedger = options.hedgedReads.map { ReadHedger($0, loop: loop) }
        self.coalescer = options.coalescesReads ? ReadCoalescer() : nil
        self.connectionLoops = [loop] + extraLoops.filter { $0 !== loop }
        self.makeConnector = makeConnector
        self.credentials = Lock(options.credentials)
        self.supervisor = Supervisor(
            loop: loop, strategy: options.reconnectStrategy,
            checkInterval: options.heartbeatInterval, checkTimeout: options.checkTimeout,
            events: ClientEvents(observer: observer, stream: eventStream), listener: listener)
        let events = ClientEvents(observer: observer, stream: eventStream)
        cache?.onFlush { events.cacheFlushed($0) }
        GlideStatistics.clients.add(1, ordering: .relaxed)
    }

    /// Whether `close()` was called.
    var closed: Bool { isClosed.load(ordering: .relaxed) }

    // MARK: Connections

    /// A connection to `address` under this client's supervisor: reconnected in the background
    /// with the client's backoff, checked by heartbeats. `waitsThroughFailedAttempts`: requests
    /// wait for a reconnection up to their deadline (standalone), or fail at once so the caller
    /// retries elsewhere (cluster). `readOnly` sends `READONLY` on connecting (cluster replicas).
    /// `subscriber`: a connection for subscriptions only, whose RESP2 messages arrive as arrays.
    /// `spread`: the connection runs on the next of `connectionLoops` rather than the home loop;
    /// its events still reach the supervisor on the home loop (see `NodeConnection.report`).
    func makeConnection(
        _ address: NodeAddress, readOnly: Bool = false, waitsThroughFailedAttempts: Bool,
        subscriber: Bool = false, spread: Bool = false, pushHandler: (@Sendable (RESPToken, Connection) -> Void)? = nil
    ) -> Connection {
        var policy = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: waitsThroughFailedAttempts)
        policy.pushesInArrays = subscriber && options.protocolVersion == .resp2
        policy.adaptiveTimeout = subscriber ? nil : options.adaptiveTimeout
        let connectionLoop = spread ? spreadLoop() : loop
        let connection = Connection(
            loop: connectionLoop, connector: makeConnector(address, connectionLoop),
            handshake: handshake(readOnly: readOnly, tracks: !subscriber),
            inflightLimit: options.inflightRequestsLimit, maximumReplyLength: options.maximumReplyLength,
            connectionTimeout: options.connectionTimeout, staleReplyGrace: options.staleReplyGrace,
            policy: policy, observer: supervisor, observerLoop: loop, breaker: subscriber ? nil : makeBreaker(address),
            credentialsSource: credentialsSource, pushHandler: pushHandler)
        let supervisor = self.supervisor
        // On the loop, in order: supervision starts before any event of the connection arrives.
        if loop.inEventLoop {
            supervisor.assumeIsolated { $0.supervise(connection, connecting: false) }
        } else {
            loop.execute { supervisor.assumeIsolated { $0.supervise(connection, connecting: false) } }
        }
        return connection
    }

    /// The circuit breaker of a node's connection, when the configuration asks for one; its
    /// openings and closings are the client's events.
    private func makeBreaker(_ address: NodeAddress) -> CircuitBreaker? {
        guard let configuration = options.circuitBreaker else { return nil }
        let events = self.events
        let node = address.description
        return CircuitBreaker(configuration, address: node) { opened, description in
            events.circuitBreaker(node, opened: opened, description)
        }
    }

    /// The next of `connectionLoops`, in turn.
    private func spreadLoop() -> Loop {
        guard connectionLoops.count > 1 else { return loop }
        // Wrapping and unsigned: a valid index however many connections a long life makes.
        let turn = spreadTurn.wrappingAdd(1, ordering: .relaxed).oldValue
        return connectionLoops[Int(turn % UInt(connectionLoops.count))]
    }

    /// A short-lived connection to `address`, not supervised: for one question (a seed asked for
    /// the cluster's topology), or, with `.neverReconnects`, for a dedicated connection whose
    /// state must not outlive its socket.
    /// `observer` (held weakly) is told what happens to it.
    func makeUnsupervisedConnection(
        _ address: NodeAddress, policy: ConnectionPolicy = .unsupervised, observer: (any ConnectionObserver)? = nil
    ) -> Connection {
        Connection(
            loop: loop, connector: makeConnector(address, loop), handshake: handshake(readOnly: false, tracks: false),
            inflightLimit: options.inflightRequestsLimit, maximumReplyLength: options.maximumReplyLength,
            connectionTimeout: options.connectionTimeout, staleReplyGrace: options.staleReplyGrace, policy: policy,
            observer: observer, credentialsSource: credentialsSource)
    }

    /// A connection to a sentinel, for questions and `+switch-master` notices: RESP3 (every
    /// sentinel since Redis 6 speaks it, and notices then arrive as pushes beside replies), the
    /// sentinels' own `credentials`, no database, the client's TLS. It never reconnects: its
    /// owner moves to another sentinel instead, and must not miss that its subscription is gone.
    func makeSentinelConnection(
        _ address: NodeAddress, credentials: ServerCredentials?,
        pushHandler: @escaping @Sendable (RESPToken, Connection) -> Void
    ) -> Connection {
        let handshake = HandshakeConfiguration(
            protocolVersion: .resp3, credentials: credentials, clientName: options.clientName, databaseID: 0)
        return Connection(
            loop: loop, connector: makeConnector(address, loop), handshake: handshake, inflightLimit: 16,
            maximumReplyLength: options.maximumReplyLength, connectionTimeout: options.connectionTimeout,
            staleReplyGrace: options.staleReplyGrace,
            policy: .neverReconnects, pushHandler: pushHandler)
    }

    /// What a new connection sends as it opens. `tracks`: the connection serves the reads the
    /// client-side cache stores, so it turns tracking on; connections of other uses (dedicated,
    /// pooled, subscriber, monitor, seed) would only be sent invalidations to drop.
    func handshake(readOnly: Bool, tracks: Bool = true) -> HandshakeConfiguration {
        var configuration = HandshakeConfiguration(
            protocolVersion: options.protocolVersion, credentials: credentials.withLock { $0 },
            clientName: options.clientName, databaseID: selectedDatabase.load(ordering: .relaxed), sendsReadOnly: readOnly,
            tracking: tracks && options.clientSideCache != nil, redirects: options.declaresRedirect)
        configuration.trackingPrefixes = options.clientSideCache?.broadcastPrefixes
        return configuration
    }

    /// Stops supervising `connection` and closes it (a node that left).
    func retire(_ connection: Connection) {
        let supervisor = self.supervisor
        loop.execute { supervisor.assumeIsolated { $0.release(connection) } }
        connection.close()
        cache?.retired(connection)
    }

    // MARK: Requests

    /// Runs one request of an entry point under the hooks: its span, duration and outcome (see
    /// `Observer.request`), `operation` naming it and `node` the node it goes to when known
    /// before it is routed. Every entry point of both clients and of their dedicated
    /// connections goes through here once per request it sends; without hooks it is one check.
    @inline(__always)
    func observed<Value>(
        _ operation: String, node: @autoclosure () -> NodeAddress?, batchSize: Int? = nil,
        _ body: () async throws(GlideError) -> Value
    ) async throws(GlideError) -> Value {
        guard let observer else { return try await body() }
        return try await observer.request(operation, node: node(), batchSize: batchSize, body)
    }

    /// A read the client-side cache may answer, for both clients: a hit is served from the cache,
    /// a miss is read through `connection()` (the connection whose server tracks the key) and
    /// kept, and `usual` sends the encoded request where the connection can't. `nil` when the
    /// cache can't take the request (no cache, a command it doesn't keep, arguments sent by
    /// reference): the caller sends it its own way.
    func cachedRead(
        _ name: String?, deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void,
        through connection: () -> Connection?,
        otherwise usual: @Sendable (RESPCommandBuffer) async throws(GlideError) -> RESPToken
    ) async throws(GlideError) -> RESPToken? {
        guard let cache, let name, ClientSideCache.cachedCommands.contains(name) else { return nil }
        var encoded = RESPCommandBuffer()
        encode(&encoded)
        let request = encoded
        guard let key = CachedCommands.key(of: name, request: request), cache.configuration.caches(key) else { return nil }
        return try await cache.read(request, key: key, through: connection, deadline: deadline) { () throws(GlideError) in
            try await usual(request)
        }
    }

    /// The latency of each of `connections` that has timed a request, by its node's `host:port`.
    func latencies(of connections: [Connection]) -> [String: NodeLatency] {
        var latencies: [String: NodeLatency] = [:]
        for connection in connections {
            if let latency = connection.latency { latencies[connection.address] = latency }
        }
        return latencies
    }

    /// When a request must be answered by, on the loop's clock: the request timeout (or this
    /// call's `timeout`), or for a blocking command its own timeout plus half a second (or plus
    /// `timeout`; zero: never).
    func deadline(blockingTimeout: Duration?, timeout: Duration? = nil) -> Deadline {
        guard let blocking = blockingTimeout else { return loop.now() + (timeout ?? options.requestTimeout) }
        return blocking == .zero ? .distantFuture : loop.now() + blocking + (timeout ?? .milliseconds(500))
    }

    // MARK: Credentials

    /// Rotates the password of `connections` and of every connection made from now on, as
    /// `updateConnectionPassword(_:immediateAuth:)` documents: with `immediateAuth` each
    /// connection authenticates now, and if any node refuses, reconnections go back to the
    /// previous password and the refusal is thrown.
    func rotatePassword(_ password: String?, immediateAuth: Bool, on connections: [Connection]) async throws(GlideError) {
        try PasswordRotation.validate(password, immediateAuth: immediateAuth)
        try await rotateCredentials(
            password: password, username: credentials.withLock { $0?.username } ?? options.credentials?.username,
            immediateAuth: immediateAuth, on: connections)
    }

    /// `rotatePassword` for `username`: what the credentials provider's refreshes run too.
    func rotateCredentials(password: String?, username: String?, immediateAuth: Bool, on connections: [Connection]) async throws(GlideError)
    {
        let previous = credentials.withLock { credentials in
            let previous = credentials
            credentials = password.map { ServerCredentials(password: $0, username: username) }
            return previous
        }
        for connection in connections { connection.passwordChanged(password, username: username) }
        let supervisor = self.supervisor
        await supervisor.retryStoppedConnections()
        guard immediateAuth, let password else { return }
        let deadline = loop.now() + options.requestTimeout
        let failures = await withTaskGroup(of: GlideError?.self) { group in
            for connection in connections {
                group.addTask { await Self.authenticate(connection, username: username, password: password, deadline: deadline) }
            }
            var failures: [GlideError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        guard let failure = failures.first(where: { $0.code == .authenticationFailed }) ?? failures.first else { return }
        if failure.code == .authenticationFailed {
            credentials.withLock { $0 = previous }
            for connection in connections { connection.passwordChanged(previous?.password, username: previous?.username) }
        }
        throw failure
    }

    /// One connection's `AUTH`, with its failure as a value (a child task with a typed `catch` of
    /// its own lost results under -O).
    private static func authenticate(
        _ connection: Connection, username: String?, password: String,
        deadline: Deadline
    ) async -> GlideError? {
        do throws(GlideError) {
            try await connection.authenticate(username: username, password: password, deadline: deadline)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Life cycle

    /// Closes every connection and ends every background task and timer; requests in flight
    /// fail with `.clientClosed`, and so do later ones. Returns once nothing runs.
    func close() async {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        defer { closeSignal.fire() }
        endMonitors()
        closeDedicatedPools()
        await stopCredentialRefresh()
        await supervisor.close()
        // A connection on another loop releases its registration and timers there (see
        // `NodeConnection.close()`), queued before this: once each loop has run a task of ours,
        // no connection of the client is registered there. (A connection attempt under way is
        // cancelled, and ends on its own shortly after, as on the client's own loop.)
        for other in connectionLoops.dropFirst() {
            await withUnsafeContinuation { (done: UnsafeContinuation<Void, Never>) in other.execute { done.resume() } }
        }
        eventStream.finish()
        GlideStatistics.clients.subtract(1, ordering: .relaxed)
    }

    /// `close()` from a context that can't wait (a client's `deinit`): the same, finished on the loop.
    func closeWithoutWaiting() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        closeSignal.fire()
        endMonitors()
        closeDedicatedPools()
        credentialRefresh.withLock { $0?.cancel() }
        supervisor.closeWithoutWaiting()
        eventStream.finish()
        GlideStatistics.clients.subtract(1, ordering: .relaxed)
    }
}

/// The core of the clients as applications use them: the epoll loop and sockets.
typealias SocketCore = ClientCore<EpollEventLoop, SocketConnector>

extension ClientCore where Loop == EpollEventLoop, Connector == SocketConnector {
    /// The clients' core: the epoll `loop` chosen at `create`, and sockets with `tls` (`nil`: plain text).
    convenience init(
        options: ClientOptions, loop: EpollEventLoop, tls: TLSContextProvider?, cache: ClientSideCacheStore? = nil,
        listener: Supervisor.Listener? = nil
    ) {
        self.init(
            options: options, loop: loop,
            makeConnector: { [connector = options.connector] in
                SocketConnector(address: $0, loop: $1, tls: tls, custom: connector)
            },
            tls: tls, cache: cache, listener: listener)
    }
}

/// The checks every command goes through in both clients, and the errors they share.
@usableFromInline
enum ClientChecks {
    /// The checks `customCommand` makes before anything is sent: a name, and no command that
    /// would break the one-reply-per-request rule of the shared connections.
    static func checkCustomCommand(_ arguments: [Bytes]) throws(GlideError) {
        guard !arguments.isEmpty else { throw GlideError(.configuration, "a command needs a name") }
        if let refusal = CommandTable.multiplexingRefusal(for: Array(arguments.prefix(2))) {
            throw GlideError(.configuration, refusal)
        }
    }

    /// The database a `SELECT n` command switches to.
    static func selectedDatabase(_ arguments: [Bytes]) -> Int? {
        guard arguments.count == 2, arguments[0].equalsCaseInsensitive("SELECT") else { return nil }
        return Int(arguments[1].string)
    }

    /// A reply that could not be decoded as `command`'s response.
    @usableFromInline
    static func unexpectedReply(_ command: String, _ error: RESPConversionError, address: String?) -> GlideError {
        GlideError(.protocolError, "\(command) reply: \(error)", address: address)
    }
}
