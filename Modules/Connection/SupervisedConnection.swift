public import GlideTLS

/// The settings of a `SupervisedConnection`; every default is the ready clients'.
public struct ConnectionConfiguration: Sendable {
    /// What the connection sends as it opens: protocol, credentials, name, database.
    public var handshake: HandshakeConfiguration
    /// How long a request may wait for its reply (`send` may ask for another). 250 ms.
    public var requestTimeout: Duration
    /// How long one connection attempt may take, TLS and handshake included. 2 s.
    public var connectionTimeout: Duration
    /// The backoff between reconnection attempts.
    public var reconnectStrategy: BackoffStrategy
    /// How often an idle connection is checked with a `PING`; `nil`: never. 3 s.
    public var heartbeatInterval: Duration?
    /// The most requests waiting for replies at once; more fail at once. 1000.
    public var inflightRequestsLimit: Int
    /// The most bytes one reply may take; a longer one ends the connection with
    /// `.protocolError`, and it reconnects. 512 MiB (the server's `proto-max-bulk-len`) and a
    /// header's room.
    public var maximumReplyLength: Int = RESPDecoder.defaultMaximumFrameLength
    /// Request timeouts that follow the node's measured latency, under `requestTimeout` (or a
    /// request's own); `nil` (the default): off.
    public var adaptiveTimeout: AdaptiveTimeout?

    /// A configuration; see each property for its default.
    public init(
        handshake: HandshakeConfiguration = HandshakeConfiguration(), requestTimeout: Duration = .milliseconds(250),
        connectionTimeout: Duration = .seconds(2), reconnectStrategy: BackoffStrategy = BackoffStrategy(),
        heartbeatInterval: Duration? = .seconds(3), inflightRequestsLimit: Int = 1000
    ) {
        self.handshake = handshake
        self.requestTimeout = requestTimeout
        self.connectionTimeout = connectionTimeout
        self.reconnectStrategy = reconnectStrategy
        self.heartbeatInterval = heartbeatInterval
        self.inflightRequestsLimit = inflightRequestsLimit
    }
}

/// One node's connection with its supervisor: pipelined, shared by any number of tasks, and
/// reconnected in the background on the backoff schedule, as the ready clients' connections are.
/// What a client of your own is built on: you encode the commands, it gives the replies back.
///
/// ```swift
/// let connection = try await SupervisedConnection.open(to: NodeAddress(port: 6379))
/// let pong = try await connection.send { $0.writeRESPCommand("PING" as StaticString) }
/// await connection.close()
/// ```
///
/// Generic over its loop and connector, so the same code runs over sockets on the epoll loop or
/// over memory pipes on a `ManualEventLoop` in tests.
public final class SupervisedConnection<Loop: EventLoop, Connector: StreamConnector>: Sendable {
    /// The connection requests go through.
    public let connection: NodeConnection<Loop, Connector>
    /// What reconnects and checks it.
    public let supervisor: ConnectionSupervisor<Loop, Connector>
    /// The settings it was made with.
    public let configuration: ConnectionConfiguration

    /// A connection through `connector`, run by `loop`, not connected yet: `start()` starts its
    /// supervision, and the first request (or `connect()`) connects.
    public init(loop: Loop, connector: Connector, configuration: ConnectionConfiguration = ConnectionConfiguration()) {
        self.configuration = configuration
        let supervisor = ConnectionSupervisor<Loop, Connector>(
            loop: loop, strategy: configuration.reconnectStrategy, checkInterval: configuration.heartbeatInterval,
            checkTimeout: max(.seconds(1), configuration.requestTimeout))
        self.supervisor = supervisor
        var policy = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: true)
        policy.adaptiveTimeout = configuration.adaptiveTimeout
        connection = NodeConnection(
            loop: loop, connector: connector, handshake: configuration.handshake,
            inflightLimit: configuration.inflightRequestsLimit, maximumReplyLength: configuration.maximumReplyLength,
            connectionTimeout: configuration.connectionTimeout,
            staleReplyGrace: max(.seconds(2), configuration.requestTimeout),
            policy: policy, observer: supervisor)
    }

    /// Starts supervising: reconnection after a loss, and the periodic checks.
    public func start() async {
        await supervisor.supervise(connection, connecting: false)
        await supervisor.start()
    }

    /// Connects now and waits for the handshake; throws the attempt's failure (refused, timed
    /// out, TLS, credentials). Supervision retries in the background either way.
    public func connect() async throws(GlideError) {
        try await connection.connect().get()
    }

    /// Sends the command `encode` writes and returns its reply, an error reply included (its
    /// `type` says so). Throws `.timeout` when no reply comes within `timeout` (default: the
    /// configuration's), `.connectionClosed` when the connection was lost after sending it,
    /// `.cancelled` for a cancelled task. While the connection is down, a request waits for the
    /// reconnection up to its deadline.
    public func send(
        timeout: Duration? = nil, _ encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        let deadline = connection.loop.now() + (timeout ?? configuration.requestTimeout)
        return try await connection.send(deadline: deadline, encode: encode).get().token
    }

    /// Closes the connection and ends its supervision; requests in flight fail with
    /// `.clientClosed`. Returns once nothing of it runs.
    public func close() async {
        await supervisor.close()
        connection.close()
    }
}

extension SupervisedConnection where Loop == EpollEventLoop, Connector == SocketConnector {
    /// Opens a supervised connection to `address` over TCP or a Unix socket (with TLS when `tls`
    /// is set: each reconnection takes its current context), on `loop` (default: the shared
    /// group's next), and waits until it is ready.
    public static func open(
        to address: NodeAddress, configuration: ConnectionConfiguration = ConnectionConfiguration(),
        on loop: EpollEventLoop = EpollEventLoopGroup.shared.next(), tls: TLSContextProvider? = nil
    ) async throws(GlideError) -> SupervisedConnection {
        let opened = SupervisedConnection(
            loop: loop, connector: SocketConnector(address: address, loop: loop, tls: tls), configuration: configuration)
        await opened.start()
        if case .failure(let failure) = await opened.connection.connect() {
            await opened.close()
            throw failure
        }
        return opened
    }
}
