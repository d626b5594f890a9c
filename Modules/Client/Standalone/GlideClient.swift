public import GlideTransport
import Synchronization

/// A client for a standalone server (a primary, optionally with replicas).
///
/// One multiplexed connection serves every caller: any number of tasks can share a client, and
/// requests that arrive while a write is in progress go out together in the next write.
///
/// ```swift
/// let client = try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(port: 6379)]))
/// try await client.set("key", "value")
/// let value: String? = try await client.get("key")
/// ```
public final class GlideClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: GlideClientConfiguration
    let connection: NodeConnection<EpollEventLoop, SocketConnector>
    private let isClosed = Atomic<Bool>(false)

    private init(configuration: GlideClientConfiguration, tls: TLSContext?) {
        self.configuration = configuration
        let primary = configuration.addresses[0]
        let handshake = HandshakeConfiguration(
            protocolVersion: configuration.protocolVersion, credentials: configuration.credentials,
            clientName: configuration.clientName, database: configuration.databaseID)
        self.connection = NodeConnection(
            loop: configuration.eventLoop,
            connector: SocketConnector(address: primary, loop: configuration.eventLoop, tls: tls),
            handshake: handshake, inflightLimit: configuration.inflightRequestsLimit,
            connectionTimeout: configuration.connectionTimeout,
            staleReplyGrace: max(.seconds(2), configuration.requestTimeout))
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) {
            connection.close()
            GlideStatistics.clients.subtract(1, ordering: .relaxed)
        }
    }

    /// Connects to the primary and returns a ready client.
    ///
    /// Throws `.configuration` for an invalid configuration, `.connectionFailed` when the server
    /// can't be reached, and `.authenticationFailed` when it rejects the credentials. With
    /// `lazyConnect`, returns at once and the first request connects.
    public static func create(_ configuration: GlideClientConfiguration) async throws(GlideError) -> GlideClient {
        try validate(configuration)
        let client = GlideClient(configuration: configuration, tls: try ClientSetup.tlsContext(useTLS: configuration.useTLS, configuration.tlsConfiguration))
        GlideStatistics.clients.add(1, ordering: .relaxed)
        if configuration.lazyConnect { return client }
        // A PING through the normal path connects, authenticates and proves the connection works;
        // it may take the whole connection timeout.
        // At least a second past the connect timeout: the connect's own outcome (refused, timed out,
        // a TLS failure) reaches the caller through the loop, and must not lose a race with this.
        let deadline = Deadline.now() + configuration.connectionTimeout + max(configuration.requestTimeout, .seconds(1))
        do {
            _ = try await client.execute(PING(), deadline: deadline)
        } catch {
            client.shutDown()
            throw error
        }
        return client
    }

    static func validate(_ configuration: GlideClientConfiguration) throws(GlideError) {
        func invalid(_ message: String) -> GlideError { GlideError(.configuration, message) }
        guard !configuration.addresses.isEmpty else { throw invalid("no address to connect to") }
        try ClientSetup.validate(
            addresses: configuration.addresses, useTLS: configuration.useTLS, tlsConfiguration: configuration.tlsConfiguration,
            requestTimeout: configuration.requestTimeout, connectionTimeout: configuration.connectionTimeout,
            inflightRequestsLimit: configuration.inflightRequestsLimit, databaseID: configuration.databaseID,
            clientName: configuration.clientName)
    }

    // MARK: Running commands

    /// Sends `command` and decodes its reply.
    ///
    /// Server errors throw `.server` (with `serverCode`), a missing reply `.timeout`, a lost
    /// connection `.connectionClosed`.
    @inlinable
    public func execute<Command: GlideCommand>(_ command: Command) async throws(GlideError) -> Command.Response {
        // Inlinable so it is specialised for the command at the call site; the non-generic core
        // below does the sending, so no generic code runs unspecialised. Both checks of the
        // connection effects are constants once specialised: free for every other command.
        if let refusal = Command.multiplexingRefusal { throw GlideError(.configuration, refusal) }
        let token = try await send(deadline: deadline(blockingTimeout: command.blockingTimeout)) { command.encode(into: &$0) }
        if let database = command.selectedDatabase { databaseSelected(database) }
        do {
            return try command.decodeResponse(token)
        } catch {
            throw unexpectedReply(Command.name, error)
        }
    }

    /// Remembers a successful `SELECT` for reconnections.
    @usableFromInline
    func databaseSelected(_ database: Int) {
        connection.databaseSelected(database)
    }

    /// Sends one encoded request and returns its reply, throwing server errors.
    @usableFromInline
    func send(deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void) async throws(GlideError) -> RESPToken {
        switch await connection.send(deadline: deadline, encode: encode) {
        case .failure(let error):
            throw error
        case .success(let reply):
            if reply.token.type.isError { throw GlideError.server(reply.token, address: connection.address) }
            return reply.token
        }
    }

    /// When a request must be answered by: the request timeout, or for a blocking command its own
    /// timeout plus half a second (zero: never).
    @usableFromInline
    func deadline(blockingTimeout: Duration?) -> Deadline {
        guard let blocking = blockingTimeout else { return Deadline.now() + configuration.requestTimeout }
        return blocking == .zero ? .distantFuture : Deadline.now() + blocking + .milliseconds(500)
    }

    @usableFromInline
    func unexpectedReply(_ command: String, _ error: RESPConversionError) -> GlideError {
        GlideError(.protocolError, "\(command) reply: \(error)", address: connection.address)
    }

    /// Sends `command` with an explicit deadline (used by `create`, which may wait for a connect).
    func execute<Command: GlideCommand>(_ command: Command, deadline: Deadline) async throws(GlideError) -> Command.Response {
        let token = try await send(deadline: deadline) { command.encode(into: &$0) }
        do {
            return try command.decodeResponse(token)
        } catch {
            throw unexpectedReply(Command.name, error)
        }
    }

    /// Sends any command, given as its arguments, and returns the reply as sent.
    ///
    /// ```swift
    /// let info = try await client.customCommand(["CLIENT", "INFO"])
    /// ```
    ///
    /// Commands that would break the one-reply-per-request rule of the shared connection (the
    /// `SUBSCRIBE` family, `MONITOR`, `CLIENT REPLY OFF|SKIP`) are refused with `.configuration`.
    public func customCommand(_ arguments: [String]) async throws(GlideError) -> RESPValue {
        try await customCommand(arguments.map { Bytes($0) })
    }

    /// Sends any command given as binary-safe arguments.
    public func customCommand(_ arguments: [Bytes]) async throws(GlideError) -> RESPValue {
        let head = Array(arguments.prefix(2))
        guard !head.isEmpty else { throw GlideError(.configuration, "a command needs a name") }
        if let refusal = CommandTable.multiplexingRefusal(for: head) { throw GlideError(.configuration, refusal) }
        // A blocking command gets its own timeout, read from its arguments, as typed ones do.
        let reply = try await execute(CustomCommand(arguments, blockingTimeout: CommandTable.blockingTimeout(for: arguments)))
        if let database = Self.selectedDatabase(head) { connection.databaseSelected(database) }
        return reply
    }

    /// The database a `SELECT n` command switches to, so reconnections select it too.
    static func selectedDatabase(_ head: [Bytes]) -> Int? {
        guard head.count == 2, head[0].equalsCaseInsensitive("SELECT") else { return nil }
        return Int(head[1].string)
    }

    // MARK: Life cycle

    /// Connection and client counts for the whole process.
    public func getStatistics() -> GlideStatistics { .current }

    /// Closes the connection. Requests in flight fail with `.clientClosed`; so do later ones.
    public func close() async {
        shutDown()
    }

    private func shutDown() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        connection.close()
        GlideStatistics.clients.subtract(1, ordering: .relaxed)
    }
}

extension GlideClient {
    /// Switches to logical database `index`. Reconnections select it again.
    ///
    /// The connection is shared: the switch applies to every caller of this client.
    public func select(_ index: Int) async throws(GlideError) {
        try await execute(SELECT(index: index))
    }
}
