import GlideCompression
import GlideConnection
public import GlideRouter
import GlideTLS
public import GlideTopology
public import GlideTransport

/// A client for a Valkey or Redis cluster.
///
/// It discovers the topology from any seed node (asking several nodes and adopting the view most
/// of them give), keeps one multiplexed connection per node, routes each command by its keys and
/// the server's routing tips, splits multi-key commands across slots, combines replies from
/// several nodes, and follows the cluster through slot migrations and failovers.
///
/// ```swift
/// let cluster = try await GlideClusterClient.create(GlideClusterClientConfiguration(
///     addresses: [NodeAddress(host: "127.0.0.1", port: 7000)]))
/// try await cluster.set("user:1", "Ada")
/// let info = try await cluster.customCommand(["INFO", "server"], route: .allPrimaries)
/// ```
public final class GlideClusterClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: GlideClusterClientConfiguration
    /// The client's machinery: the engine on the epoll loop, over sockets.
    let engine: ClusterEngine<EpollEventLoop, SocketConnector>

    private init(configuration: GlideClusterClientConfiguration, tls: TLSContextProvider?) {
        self.configuration = configuration
        let loop = configuration.chosenLoop
        self.engine = ClusterEngine(
            configuration: configuration, loop: loop, extraLoops: Self.extraLoops(configuration), tls: tls
        ) {
            SocketConnector(address: $0, loop: $1, tls: tls, custom: configuration.connector)
        }
    }

    /// The loops after the client's own in its group, `eventLoopCount - 1` of them, that its node
    /// connections spread over too.
    static func extraLoops(_ configuration: GlideClusterClientConfiguration) -> [EpollEventLoop] {
        let home = configuration.chosenLoop
        let group = configuration.eventLoopGroup.loops
        // The group's loops from the one after the client's own (from the first when its own
        // loop is set apart from the group), wrapping around.
        let after = (group.firstIndex { $0 === home } ?? -1) + 1
        let rotated = group.indices.map { group[(after + $0) % group.count] }
        return Array(rotated.filter { $0 !== home }.prefix(configuration.eventLoopCount - 1))
    }

    deinit {
        engine.closeWithoutWaiting()
    }

    /// Discovers the cluster from the seed addresses, waits for the first connection attempt to
    /// each node found (a node that fails is retried in the background), and returns a ready client.
    ///
    /// Throws `.configuration` for an invalid configuration or a seed that is not a cluster
    /// node, `.authenticationFailed` when the nodes reject the credentials, and
    /// `.connectionFailed` when no seed can be reached.
    public static func create(_ configuration: GlideClusterClientConfiguration) async throws(GlideError) -> GlideClusterClient {
        let configuration = configuration.choosingLoop()
        try validate(configuration)
        let client = GlideClusterClient(configuration: configuration, tls: try ClientSetup.tlsContext(configuration.options))
        try await client.engine.start()
        return client
    }

    var core: SocketCore { engine.core }
    var nodes: ClusterNodes<EpollEventLoop, SocketConnector> { engine.nodes }
    var topologyManager: ClusterEngine<EpollEventLoop, SocketConnector>.Manager { engine.topologyManager }

    static func validate(_ configuration: GlideClusterClientConfiguration) throws(GlideError) {
        func invalid(_ message: String) -> GlideError { GlideError(.configuration, message) }
        guard !configuration.addresses.isEmpty else { throw invalid("no seed address to connect to") }
        for address in configuration.addresses where address.isUnixSocket {
            throw invalid("cluster nodes are reached over TCP, not \(address)")
        }
        try ClientSetup.validate(configuration.options)
        guard configuration.topologySampleSize > 0 else { throw invalid("topologySampleSize must be positive") }
        // The client's own loop counts once, in the group or set apart from it.
        let group = configuration.eventLoopGroup.loops
        let ownLoopApart = configuration.eventLoop.map { own in !group.contains { $0 === own } } ?? false
        let available = group.count + (ownLoopApart ? 1 : 0)
        guard (1...available).contains(configuration.eventLoopCount) else {
            throw invalid(
                "eventLoopCount must be from 1 to \(available), the loops the client can use; "
                    + "\(configuration.eventLoopCount) was asked for")
        }
        guard configuration.topologyRefresh.minimumInterval >= .zero else {
            throw invalid("the minimum interval between topology refreshes must not be negative")
        }
        guard configuration.topologyRefresh.periodicInterval.map({ $0 > .zero }) ?? true else {
            throw invalid("the periodic topology check needs a positive interval, or nil to disable it")
        }
        if let pubsub = configuration.pubsub {
            try PubSubSetup.validate(pubsub, sharded: true)
        }
    }

    // MARK: Running commands

    /// Sends `command` where its keys and policies say, and returns its reply; replies of
    /// several nodes combine by the command's response policy.
    ///
    /// A command whose replies don't combine (`INFO`: one per node) throws `.routing` before
    /// anything is sent; `execute(_:route:)` returns them by node.
    @inlinable
    public func execute<Command: GlideCommand>(_ command: Command) async throws(GlideError) -> Command.Response {
        try await execute(command, timeout: nil)
    }

    /// `execute(_:)` with `timeout` in place of the configuration's `requestTimeout`, for this
    /// call only (a blocking command's own timeout still comes first).
    @inlinable
    public func execute<Command: GlideCommand>(_ command: Command, timeout: Duration?) async throws(GlideError) -> Command.Response {
        // Inlinable so the key visit, the routing constants and the decode are specialised for
        // the command; a request to one slot then takes the lock once and allocates nothing.
        if let refusal = Command.multiplexingRefusal { throw GlideError(.configuration, refusal) }
        if command.selectedDatabase != nil { throw Self.selectRefusal }
        let decision = Router.decide(name: Command.name, routing: Command.routing, keySlots: Router.keySlots(of: command))
        let deadline = deadline(blockingTimeout: command.blockingTimeout, timeout: timeout)
        let token: RESPToken
        if case .slot(let slot, let replicaAllowed) = decision.target {
            token = try await send(
                toSlot: slot, replica: replicaAllowed && configuration.readFrom != .primary,
                readOnly: Command.routing.isReadOnly, deadline: deadline, name: Command.name,
                blocking: command.blockingTimeout != nil
            ) { command.encode(into: &$0) }
        } else {
            token = try await sendCombined(
                decision, name: Command.name, readOnly: Command.routing.isReadOnly, deadline: deadline,
                encode: { command.encode(into: &$0) }, arguments: { Self.arguments(of: command) })
        }
        do {
            return try command.decodeResponse(token)
        } catch {
            throw ClientChecks.unexpectedReply(Command.name, error, address: nil)
        }
    }

    /// Sends `command` where `route` says. Replies of several nodes combine by the command's
    /// response policy when it has one, and come back by node otherwise.
    public func execute<Command: GlideCommand>(_ command: Command, route: Route) async throws(GlideError) -> ClusterValue<Command.Response>
    {
        if let refusal = Command.multiplexingRefusal { throw GlideError(.configuration, refusal) }
        if command.selectedDatabase != nil { throw Self.selectRefusal }
        guard let decision = Router.decide(name: Command.name, routing: Command.routing, route: route) else {
            throw GlideError(.routing, "slot IDs run from 0 to 16383: \(route)")
        }
        let compressor = engine.core.compressor
        let compressed = compressor?.compressedRequest(Command.name) { command.encode(into: &$0) }
        let replies = try await engine.core.observed(Command.name, node: nil) { () throws(GlideError) in
            try await engine.send(
                decision, name: Command.name, readOnly: Command.routing.isReadOnly,
                deadline: deadline(blockingTimeout: command.blockingTimeout), explicitRoute: true,
                encode: { if let compressed { $0.append(compressed) } else { command.encode(into: &$0) } },
                arguments: { compressed.map(Self.arguments(of:)) ?? Self.arguments(of: command) })
        }
        func decode(_ token: RESPToken) throws(GlideError) -> Command.Response {
            let token = try compressor?.decompressedReply(Command.name, token) ?? token
            do {
                return try command.decodeResponse(token)
            } catch {
                throw ClientChecks.unexpectedReply(Command.name, error, address: nil)
            }
        }
        switch replies {
        case .single(let token):
            return .single(try decode(token))
        case .perNode(let tokens):
            var values: [NodeAddress: Command.Response] = [:]
            for (address, token) in tokens {
                if token.type.isError { throw GlideError.server(token, address: address.description) }
                values[address] = try decode(token)
            }
            return .perNode(values)
        }
    }

    /// Sends any command, given as its arguments, where its keys and policies say (or `route`),
    /// and returns the reply as sent, or each node's.
    ///
    /// ```swift
    /// let info = try await cluster.customCommand(["INFO", "server"], route: .allPrimaries)
    /// ```
    public func customCommand(_ arguments: [String], route: Route? = nil, timeout: Duration? = nil) async throws(GlideError)
        -> ClusterValue<RESPValue>
    {
        try await customCommand(arguments.map { Bytes($0) }, route: route, timeout: timeout)
    }

    /// Sends any command given as binary-safe arguments; `timeout` replaces `requestTimeout`
    /// for this call.
    public func customCommand(_ arguments: [Bytes], route: Route? = nil, timeout: Duration? = nil) async throws(GlideError)
        -> ClusterValue<RESPValue>
    {
        let name = arguments.first.map { CommandTable.metadata(for: arguments)?.name ?? $0.string.uppercased() } ?? "COMMAND"
        let compressor = engine.core.compressor
        let sent = compressor?.compressing(name, arguments) ?? arguments
        let value = try await engine.core.observed(name, node: nil) { () throws(GlideError) in
            try await engine.customCommand(sent, route: route, timeout: timeout)
        }
        guard let compressor, ValueCompressor.readsValues(name) else { return value }
        return try value.decompressed(name, by: compressor)
    }

    /// `SELECT` would switch one node's shared connection, under every caller routed there.
    @usableFromInline
    static var selectRefusal: GlideError {
        GlideError(
            .configuration,
            "SELECT would switch the database of one node's shared connection; set databaseID "
                + "in the configuration instead (Valkey 9 clusters have several databases)")
    }

    /// `SCAN` continues a cursor that only the node that gave it understands.
    @usableFromInline
    static var scanRefusal: GlideError {
        GlideError(
            .routing,
            "SCAN iterates one node's keys: use scan(_:match:count:type:) with a ClusterScanCursor for the whole cluster, or give it a route (.byAddress or .slotID) to scan one node"
        )
    }

    /// When a request must be answered by (see `ClientCore.deadline`).
    @usableFromInline
    func deadline(blockingTimeout: Duration?, timeout: Duration? = nil) -> Deadline {
        engine.deadline(blockingTimeout: blockingTimeout, timeout: timeout)
    }

    /// Sends a request for `slot` (see `ClusterEngine.send(toSlot:...)`): what `execute(_:)`
    /// inlined in the caller's module calls, non-generic so the engine is specialised here.
    @usableFromInline
    func send(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, name: String? = nil, blocking: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        if let compressor = engine.core.compressor, let name {
            return try await sendCompressed(
                toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking,
                compressor: compressor, encode: encode)
        }
        return try await sendObserved(
            toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking, encode: encode)
    }

    /// `send(toSlot:...)` under the hooks.
    @inline(__always)
    private func sendObserved(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, name: String?, blocking: Bool,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        // Without hooks, straight on: the hot path makes no call through a closure.
        guard engine.core.observer != nil else {
            return try await engine.send(
                toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking,
                encode: encode)
        }
        return try await engine.core.observed(
            name ?? "COMMAND", node: engine.nodes.connection(forSlot: slot, replica: replica)?.connector.address
        ) {
            () throws(GlideError) in
            try await engine.send(
                toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking,
                encode: encode)
        }
    }

    /// Sends a request as `decision` says and combines its replies (see `ClusterEngine.sendCombined`).
    @usableFromInline
    func sendCombined(
        _ decision: RoutingDecision, name: String, readOnly: Bool, deadline: Deadline,
        encode: (inout RESPCommandBuffer) -> Void, arguments: () -> [Bytes]
    ) async throws(GlideError) -> RESPToken {
        if let compressor = engine.core.compressor, let request = compressor.compressedRequest(name, encode) {
            let token = try await engine.core.observed(name, node: nil) { () throws(GlideError) in
                try await engine.sendCombined(
                    decision, name: name, readOnly: readOnly, deadline: deadline, encode: { $0.append(request) },
                    arguments: { Self.arguments(of: request) })
            }
            return try compressor.decompressedReply(name, token)
        }
        let token = try await engine.core.observed(name, node: nil) { () throws(GlideError) in
            try await engine.sendCombined(
                decision, name: name, readOnly: readOnly, deadline: deadline, encode: encode, arguments: arguments)
        }
        return try engine.core.compressor?.decompressedReply(name, token) ?? token
    }

    /// `send(toSlot:...)` with its values compressed, and the values of its reply decompressed
    /// (`ValueCompressor+Commands`). Its own function, so the work stays out of the hot path's frame.
    @inline(never)
    private func sendCompressed(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, name: String, blocking: Bool,
        compressor: ValueCompressor, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        let token: RESPToken
        if let request = compressor.compressedRequest(name, encode) {
            token = try await sendObserved(
                toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking
            ) { $0.append(request) }
        } else {
            token = try await sendObserved(
                toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, name: name, blocking: blocking, encode: encode)
        }
        return try compressor.decompressedReply(name, token)
    }

    /// A typed command's arguments, for the paths that split or inspect it.
    @usableFromInline
    static func arguments(of command: some GlideCommand) -> [Bytes] {
        var buffer = RESPCommandBuffer()
        command.encode(into: &buffer)
        return arguments(of: buffer)
    }

    /// An encoded command's arguments.
    static func arguments(of buffer: RESPCommandBuffer) -> [Bytes] {
        guard let token = try? RESPToken(validating: buffer.contiguousBytes), let elements = token.elements else { return [] }
        return elements.compactMap(\.stringBytes)
    }

    // MARK: Life cycle

    /// The client's own event loop, as a task executor (see `GlideClient.taskExecutor`): its
    /// coordination runs there, and its node connections too unless `eventLoopCount` spreads them.
    public var taskExecutor: some TaskExecutor { core.loop }

    /// Connection and client counts for the whole process.
    public func getStatistics() -> GlideStatistics { .current }

    /// How fast each node has been answering over the last minute, by `host:port`: the nodes
    /// whose connection has timed a request (one in eight is).
    public func nodeLatencies() -> [String: NodeLatency] { core.latencies(of: nodes.allNodes().map(\.1)) }

    /// The topology the client routes by.
    public var topology: ClusterTopology? { nodes.topology }

    /// Closes every connection and ends every background task and timer. Requests in flight fail
    /// with `.clientClosed`; so do later ones.
    public func close() async {
        await engine.close()
    }
}

extension GlideClusterClient: GlideCommandExecutor {}
