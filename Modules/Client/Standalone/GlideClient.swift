import GlideCompression
import GlideConnection
public import GlideTransport
import Synchronization

/// A client for a standalone server: a primary, optionally with replicas.
///
/// One multiplexed connection per node serves every caller: any number of tasks can share a
/// client, and requests that arrive while a write is in progress go out together in the next
/// write. Reads go where `readFrom` says, writes to the primary, and when a replica is promoted
/// the client follows it. A lost connection is reopened in the background.
///
/// ```swift
/// let client = try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(port: 6379)]))
/// try await client.set("key", "value")
/// let value: String? = try await client.get("key")
/// ```
public final class GlideClient: Sendable {
    typealias Connection = SocketCore.Connection

    /// The configuration the client was created with.
    public let configuration: GlideClientConfiguration
    let core: SocketCore
    let routing: StandaloneRouting<Connection>
    /// With one node and reads from the primary, every request goes to this connection: no
    /// lookup, no lock.
    let single: Connection?
    /// The client's subscriptions and their messages.
    let pubsub: PubSubSynchronizer<StandalonePlacement<EpollEventLoop, SocketConnector>>
    let relay: PubSubRelay<StandalonePlacement<EpollEventLoop, SocketConnector>>
    /// Under Sentinel, what follows the sentinels; `nil` otherwise.
    let sentinel: SentinelMonitor<EpollEventLoop, SocketConnector>?
    /// Follows the nodes' roles and publishes the routes.
    let roles: RoleFollower<EpollEventLoop, SocketConnector>

    private init(
        configuration: GlideClientConfiguration, core: SocketCore,
        relay: PubSubRelay<StandalonePlacement<EpollEventLoop, SocketConnector>>, sentinels: [NodeAddress]?
    ) {
        self.configuration = configuration
        self.core = core
        self.relay = relay
        let connections = configuration.addresses.map {
            core.makeConnection($0, waitsThroughFailedAttempts: true) { relay.receive($0, from: $1) }
        }
        let topology = StandaloneTopology(addresses: configuration.addresses)
        let routing = StandaloneRouting(
            connections: connections, topology: topology, readFrom: configuration.readFrom,
            clientAZ: configuration.clientAZ)
        self.routing = routing
        let roles = RoleFollower(
            supervisor: core.supervisor, topology: topology, connections: connections, routing: routing,
            discoversReplicas: configuration.readFrom != .primary || configuration.readOnly, events: core.events,
            makeConnection: { [weak core, relay] address in
                // The relay holds the synchronizer weakly: a connection never keeps it alive.
                core?.makeConnection(address, waitsThroughFailedAttempts: true) { relay.receive($0, from: $1) }
            })
        self.roles = roles
        let sentinel = sentinels.map { Self.sentinelMonitor(configuration, core: core, roles: roles, order: $0) }
        self.sentinel = sentinel
        // Under Sentinel the primary may move to a node not known yet: every request is routed.
        self.single =
            connections.count == 1 && configuration.readFrom == .primary && !configuration.readOnly
                && sentinel == nil ? connections[0] : nil
        self.pubsub = PubSubSynchronizer(
            loop: core.loop, inbox: relay.inbox, placement: StandalonePlacement(routing: routing, dedicated: Self.subscribers(core, relay)),
            requestTimeout: configuration.requestTimeout, checkInterval: configuration.pubsub.map(\.checkInterval) ?? .seconds(3),
            events: core.events)
        relay.synchronizer = pubsub
    }

    /// RESP2 subscriptions' connections of their own, to the primary; none with RESP3.
    private static func subscribers(_ core: SocketCore, _ relay: PubSubRelay<StandalonePlacement<EpollEventLoop, SocketConnector>>)
        -> DedicatedSubscribers<Connection>
    {
        guard core.options.protocolVersion == .resp2 else { return DedicatedSubscribers() }
        return DedicatedSubscribers(
            make: { shared in
                core.makeConnection(shared.connector.address, waitsThroughFailedAttempts: true, subscriber: true) {
                    relay.receive($0, from: $1)
                }
            }, retire: { core.retire($0) })
    }

    deinit {
        closeWithoutWaiting()
    }

    /// `close()` from a context that can't wait: the same, finished on the loop.
    func closeWithoutWaiting() {
        sentinel?.closeWithoutWaiting()
        pubsub.closeWithoutWaiting()
        core.closeWithoutWaiting()
    }

    /// Connects to every node, learns their roles, and returns a ready client.
    ///
    /// Throws `.configuration` for an invalid configuration, and otherwise the outcome of the
    /// first node's connection attempt when no node can be reached: `.connectionFailed`
    /// (refused, unreachable, timed out), `.tls`, or `.authenticationFailed`. A definitive failure
    /// of any node (credentials, TLS) is thrown too. With `lazyConnect`, returns at once and
    /// the first request connects.
    ///
    /// With `sentinel` set, the sentinels are asked for the nodes first, even with `lazyConnect`:
    /// `.configuration` when none monitors a primary of that name, `.connectionFailed` when none
    /// can be reached.
    public static func create(_ configuration: GlideClientConfiguration) async throws(GlideError) -> GlideClient {
        let configuration = configuration.choosingLoop()
        var options = configuration.options
        // A replica that was the primary answers a write with where the primary is now.
        options.declaresRedirect = true
        try ClientSetup.validate(options)
        if let sentinel = configuration.sentinel { try SentinelSetup.validate(sentinel, options: options) }
        if let pubsub = configuration.pubsub {
            try PubSubSetup.validate(pubsub, sharded: false)
        }
        let cache = options.clientSideCache.map(ClientSideCacheStore.init)
        let relay = PubSubRelay<StandalonePlacement<EpollEventLoop, SocketConnector>>(
            inbox: PubSubInbox(configuration.pubsub), cache: cache)
        let core = SocketCore(
            options: options, loop: configuration.chosenLoop, tls: try ClientSetup.tlsContext(options), cache: cache,
            listener: { relay.connectionChanged($0, $1) })
        var resolved = configuration
        var sentinels: [NodeAddress]?
        if configuration.sentinel != nil {
            do {
                (resolved, sentinels) = try await resolveSentinel(configuration, core: core)
            } catch {
                await core.close()
                throw error
            }
        }
        let client = GlideClient(configuration: resolved, core: core, relay: relay, sentinels: sentinels)
        let routing = client.routing
        core.startCredentialRefresh { routing.all }
        await client.followRoles()
        await client.startSentinel()
        do {
            if !configuration.lazyConnect { try await client.connectAll() }
            try await client.subscribeConfigured()
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    /// Starts following the nodes' roles, then the supervisor's checks.
    private func followRoles() async {
        weak let monitor = sentinel
        var primaryLost: (@Sendable () -> Void)?
        if sentinel != nil { primaryLost = { monitor?.askAgain() } }
        await roles.start(primaryLost: primaryLost)
        await core.supervisor.start()
    }

    /// Connects every node at once and waits for each attempt's own outcome, then asks the nodes
    /// for their roles (unless there is one node and nothing to find), and waits for the first
    /// attempt of each node found that way, so the first request already has every route.
    private func connectAll() async throws(GlideError) {
        let connections = routing.all
        let outcomes = await Connection.connect(connections)
        if let definitive = outcomes.compactMap({ $0 }).first(where: { $0.code != .connectionFailed }) { throw definitive }
        if outcomes.allSatisfy({ $0 != nil }), let first = outcomes[0] { throw first }
        guard single == nil else { return }
        await roles.checkRolesNow()
        // A node found now is optional: its failure to connect is the supervisor's to retry.
        _ = await Connection.connect(Array(routing.all.dropFirst(connections.count)))
    }

    // MARK: Running commands

    /// Sends `command` and decodes its reply.
    ///
    /// Server errors throw `.server` (with `serverCode`), a missing reply `.timeout`, a lost
    /// connection `.connectionClosed`, a cancelled task `.cancelled`.
    @inlinable
    public func execute<Command: GlideCommand>(_ command: Command) async throws(GlideError) -> Command.Response {
        try await execute(command, timeout: nil)
    }

    /// `execute(_:)` with `timeout` in place of the configuration's `requestTimeout`, for this
    /// call only (a blocking command's own timeout still comes first).
    @inlinable
    public func execute<Command: GlideCommand>(_ command: Command, timeout: Duration?) async throws(GlideError) -> Command.Response {
        // Inlinable so it is specialised for the command at the call site; the non-generic core
        // below does the sending, so no generic code runs unspecialised. The checks of the
        // connection effects are constants once specialised: free for every other command.
        if let refusal = Command.multiplexingRefusal { throw GlideError(.configuration, refusal) }
        let token = try await send(
            Command.name, flags: Command.routing.flags, blockingTimeout: command.blockingTimeout,
            timeout: timeout
        ) { command.encode(into: &$0) }
        if let database = command.selectedDatabase { try await databaseSelected(database) }
        do {
            return try command.decodeResponse(token)
        } catch {
            throw ClientChecks.unexpectedReply(Command.name, error, address: nil)
        }
    }

    /// Sends one encoded request where its flags say and returns its reply, throwing server errors.
    @usableFromInline
    func send(
        _ name: String, flags: CommandFlags, blockingTimeout: Duration?, timeout: Duration? = nil,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        if let compressor = core.compressor {
            return try await sendCompressed(
                name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout, compressor: compressor, encode: encode)
        }
        return try await sendObserved(name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout, encode: encode)
    }

    /// `send`, its values compressed and decompressed (`ValueCompressor+Commands`). Its own
    /// function, so the work stays out of the hot path's frame.
    @inline(never)
    private func sendCompressed(
        _ name: String, flags: CommandFlags, blockingTimeout: Duration?, timeout: Duration?, compressor: ValueCompressor,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        let token: RESPToken
        if let request = compressor.compressedRequest(name, encode) {
            token = try await sendObserved(name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout) { $0.append(request) }
        } else {
            token = try await sendObserved(name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout, encode: encode)
        }
        return try compressor.decompressedReply(name, token)
    }

    /// `send` under the hooks.
    @inline(__always)
    private func sendObserved(
        _ name: String, flags: CommandFlags, blockingTimeout: Duration?, timeout: Duration?,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        // Without hooks, straight on: the hot path makes no call through a closure.
        guard core.observer != nil else {
            return try await sendUnobserved(name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout, encode: encode)
        }
        return try await core.observed(name, node: observedNode(flags: flags, readFrom: configuration.readFrom)) { () throws(GlideError) in
            try await sendUnobserved(name, flags: flags, blockingTimeout: blockingTimeout, timeout: timeout, encode: encode)
        }
    }

    /// The node the hooks name for a request: the primary when the request goes there; a read
    /// spread over replicas has no node known before it is routed (asking the routing would move
    /// its rotation).
    func observedNode(flags: CommandFlags, readFrom: ReadFrom) -> NodeAddress? {
        let read = flags.contains(.readonly) || configuration.readOnly
        return read && readFrom != .primary ? nil : routing.primary.connector.address
    }

    /// `send` without the hooks.
    // Inlined so the hot path makes one async call fewer: each is a task-allocated frame.
    @inline(__always)
    private func sendUnobserved(
        _ name: String, flags: CommandFlags, blockingTimeout: Duration?, timeout: Duration?,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        let deadline = core.deadline(blockingTimeout: blockingTimeout, timeout: timeout)
        if core.cache != nil, blockingTimeout == nil,
            let token = try await sendCached(name, flags: flags, deadline: deadline, encode: encode)
        {
            return token
        }
        if core.coalescer != nil, let single, blockingTimeout == nil, flags.contains(.readonly) {
            return try await sendCoalesced(name, flags: flags, to: single, deadline: deadline, encode: encode)
        }
        var first: (Connection, Result<ConnectionReply, GlideError>)?
        if let single, blockingTimeout == nil || !core.lendsConnection(toBlocking: name) {
            // The common case, one node: straight to its connection; only a failure takes the
            // slow path, which decides whether to try again. A blocking command borrowed from
            // the pool goes that way too (`StandaloneSender`).
            let result = await single.send(deadline: deadline, blocking: blockingTimeout != nil, encode: encode)
            if case .success(let reply) = result, !reply.token.type.isError { return reply.token }
            first = (single, result)
        }
        let reply = try await sendRouted(
            name, flags: flags, deadline: deadline, blocking: blockingTimeout != nil,
            first: first, encode: encode)
        if reply.token.type.isError { throw GlideError.server(reply.token, address: nil) }
        return reply.token
    }

    /// A read that may share the reply of an identical one in flight (`ReadCoalescer`); a failure
    /// takes the usual path, which decides whether to try again. Its own function, so the closures
    /// it builds stay out of the hot path's frame.
    @inline(never)
    private func sendCoalesced(
        _ name: String, flags: CommandFlags, to single: Connection, deadline: Deadline,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        var encoded = RESPCommandBuffer()
        encode(&encoded)
        let request = encoded
        let outcome = await core.coalescer!.read(request, on: single, deadline: deadline)
        if case .success(let reply) = outcome, !reply.token.type.isError { return reply.token }
        let reply = try await sendRouted(name, flags: flags, deadline: deadline, blocking: false, first: (single, outcome)) {
            $0.append(request)
        }
        if reply.token.type.isError { throw GlideError.server(reply.token, address: nil) }
        return reply.token
    }

    /// A read the client-side cache may answer (`ClientCore.cachedRead`); `nil` when the cache
    /// can't take it. Its own function, so the closures it builds stay out of the hot path's frame.
    @inline(never)
    private func sendCached(
        _ name: String, flags: CommandFlags, deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken? {
        try await core.cachedRead(
            name, deadline: deadline, encode: encode, through: { routing.connection(forRead: true) },
            otherwise: { request throws(GlideError) in
                let reply = try await sendRouted(name, flags: flags, deadline: deadline, blocking: false) { $0.append(request) }
                if reply.token.type.isError { throw GlideError.server(reply.token, address: nil) }
                return reply.token
            })
    }

    /// Sends `command` as `execute(_:)` does, but a read goes where `readFrom` says for this call
    /// only: `.primary` for a read that must see the client's latest write, `.preferReplica` to
    /// take one read off a busy primary.
    public func execute<Command: GlideCommand>(_ command: Command, readFrom: ReadFrom) async throws(GlideError) -> Command.Response {
        if let refusal = Command.multiplexingRefusal { throw GlideError(.configuration, refusal) }
        let compressed = core.compressor?.compressedRequest(Command.name) { command.encode(into: &$0) }
        let reply = try await core.observed(Command.name, node: observedNode(flags: Command.routing.flags, readFrom: readFrom)) {
            () throws(GlideError) in
            let reply = try await sendRouted(
                Command.name, flags: Command.routing.flags,
                deadline: core.deadline(blockingTimeout: command.blockingTimeout),
                blocking: command.blockingTimeout != nil, readFrom: readFrom
            ) { if let compressed { $0.append(compressed) } else { command.encode(into: &$0) } }
            if reply.token.type.isError { throw GlideError.server(reply.token, address: nil) }
            return reply
        }
        if let database = command.selectedDatabase { try await databaseSelected(database) }
        let token = try core.compressor?.decompressedReply(Command.name, reply.token) ?? reply.token
        do {
            return try command.decodeResponse(token)
        } catch {
            throw ClientChecks.unexpectedReply(Command.name, error, address: nil)
        }
    }

    /// Switches every node's connection to `database` after a `SELECT` succeeded on one, and
    /// remembers it for reconnections.
    @usableFromInline
    func databaseSelected(_ database: Int) async throws(GlideError) {
        core.cache?.databaseChanged()
        core.selectedDatabase.store(database, ordering: .relaxed)
        try await selectEverywhere(database)
    }

    /// Sends any command, given as its arguments, and returns the reply as sent.
    ///
    /// ```swift
    /// let info = try await client.customCommand(["CLIENT", "INFO"])
    /// ```
    ///
    /// Commands that would break the one-reply-per-request rule of the shared connection (the
    /// `SUBSCRIBE` family, `MONITOR`, `CLIENT REPLY OFF|SKIP`) are refused with `.configuration`.
    public func customCommand(_ arguments: [String], timeout: Duration? = nil) async throws(GlideError) -> RESPValue {
        try await customCommand(arguments.map { Bytes($0) }, timeout: timeout)
    }

    /// Sends any command given as binary-safe arguments; `timeout` replaces `requestTimeout`
    /// for this call.
    public func customCommand(_ arguments: [Bytes], timeout: Duration? = nil) async throws(GlideError) -> RESPValue {
        try ClientChecks.checkCustomCommand(arguments)
        // A blocking command gets its own timeout, read from its arguments, as typed ones do.
        let metadata = CommandTable.metadata(for: arguments)
        let token = try await send(
            metadata?.name ?? arguments[0].string.uppercased(), flags: metadata?.flags ?? [],
            blockingTimeout: CommandTable.blockingTimeout(for: arguments), timeout: timeout
        ) {
            $0.writeRESPCommand(arguments)
        }
        if let database = ClientChecks.selectedDatabase(arguments) { try await databaseSelected(database) }
        return RESPValue(token)
    }

    // MARK: Life cycle

    /// The event loop the client's connections run on, as a task executor. A task that prefers
    /// it (`withTaskExecutorPreference(client.taskExecutor)`) is resumed on the loop thread as
    /// soon as its reply is read: for a caller that sends one request at a time, half the context
    /// switches. Keep CPU-heavy work off it.
    public var taskExecutor: some TaskExecutor { core.loop }

    /// Connection and client counts for the whole process.
    public func getStatistics() -> GlideStatistics { .current }

    /// How fast each node has been answering over the last minute, by `host:port`: the nodes
    /// whose connection has timed a request (one in eight is).
    public func nodeLatencies() -> [String: NodeLatency] { core.latencies(of: routing.all) }

    /// Closes every connection and ends every background task and timer. Requests in flight
    /// fail with `.clientClosed`; so do later ones.
    public func close() async {
        await sentinel?.close()
        await pubsub.close()
        await core.close()
    }
}

extension GlideClient {
    /// Switches to logical database `index` on every node. Reconnections select it again.
    ///
    /// The connections are shared: the switch applies to every caller of this client.
    public func select(_ index: Int) async throws(GlideError) {
        try await execute(SELECT(index: index))
    }
}
