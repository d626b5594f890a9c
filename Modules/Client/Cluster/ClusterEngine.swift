import GlideConnection
import GlideRouter
import GlideTLS
import GlideTopology
import GlideTransport

/// Everything the cluster client does, generic over the event loop and how nodes are reached:
/// the core (supervised connections, credentials, deadlines), the nodes (slot map and one
/// connection per node), the topology manager, and the request path that routes, redirects and
/// retries as `ClusterRequestStateMachine` decides.
///
/// `GlideClusterClient` is this engine on the epoll loop over sockets. Tests run the same engine
/// on a manual loop over memory pipes to a scripted fake cluster: every request, redirection,
/// refresh and reconnection there is the client's own code.
final class ClusterEngine<Loop: EventLoop, Connector: NodeConnector>: Sendable {
    typealias Core = ClientCore<Loop, Connector>
    typealias Nodes = ClusterNodes<Loop, Connector>
    typealias Manager = TopologyManager<Loop, Connector, ConnectionDiscovery<Loop, Connector>>
    typealias PubSub = PubSubSynchronizer<ClusterPlacement<Loop, Connector>>

    let configuration: GlideClusterClientConfiguration
    let core: Core
    let nodes: Nodes
    let topologyManager: Manager
    /// The client's subscriptions and their messages.
    let pubsub: PubSub

    /// `loop` is the client's home; its node connections spread over it and `extraLoops`.
    init(
        configuration: GlideClusterClientConfiguration, loop: Loop, extraLoops: [Loop] = [], tls: TLSContextProvider? = nil,
        makeConnector: @escaping @Sendable (NodeAddress, Loop) -> Connector
    ) {
        self.configuration = configuration
        // A node that can't be reached, or that was lost, may have failed over: look again.
        let targets = ListenerTargets<Loop, Connector>()
        let cache = configuration.clientSideCache.map(ClientSideCacheStore.init)
        let relay = PubSubRelay<ClusterPlacement<Loop, Connector>>(inbox: PubSubInbox(configuration.pubsub), cache: cache)
        self.core = Core(
            options: configuration.options, loop: loop, spreadOver: extraLoops, makeConnector: makeConnector, tls: tls,
            cache: cache
        ) { connection, event in
            targets.nodes?.connectionChanged(connection, event)
            relay.connectionChanged(connection, event)
            switch event {
            case .lost, .attemptFailed: targets.topologyManager?.requestRefresh()
            case .ready: break
            }
        }
        self.nodes = Nodes(configuration: configuration, core: core, relay: relay)
        targets.nodes = nodes
        self.topologyManager = Manager(nodes: nodes, discovery: ConnectionDiscovery(nodes: nodes))
        targets.topologyManager = topologyManager
        let core = self.core
        let subscribers =
            configuration.protocolVersion == .resp3
            ? DedicatedSubscribers<Core.Connection>()
            : DedicatedSubscribers(
                make: { shared in
                    core.makeConnection(shared.connector.address, waitsThroughFailedAttempts: false, subscriber: true) {
                        relay.receive($0, from: $1)
                    }
                }, retire: { core.retire($0) })
        self.pubsub = PubSub(
            loop: loop, inbox: relay.inbox,
            placement: ClusterPlacement(nodes: nodes, topologyManager: topologyManager, dedicated: subscribers),
            requestTimeout: configuration.requestTimeout,
            checkInterval: configuration.pubsub.map(\.checkInterval) ?? .seconds(3), events: core.events)
        relay.synchronizer = pubsub
    }

    /// Starts supervision, discovers the cluster from the seeds and adopts it; on failure closes
    /// everything it started and throws why.
    func start() async throws(GlideError) {
        let nodes = self.nodes
        core.startCredentialRefresh { nodes.allNodes().map(\.1) }
        await core.supervisor.start()
        do {
            try await topologyManager.discoverFromSeeds()
            // Every node's first attempt, so the first requests find their routes connected. A node
            // that fails is the supervisor's to retry; its requests wait for it or go elsewhere.
            _ = await Nodes.Connection.connect(nodes.allNodes().map(\.1))
            try await subscribeConfigured()
        } catch {
            await close()
            throw error
        }
    }

    /// Whether the client was closed.
    var closed: Bool { core.closed || nodes.isClosed }

    /// Closes every connection and ends every background task and timer; returns once nothing runs.
    func close() async {
        await pubsub.close()
        await topologyManager.close()
        nodes.close()
        await core.close()
    }

    /// `close()` from a context that can't wait (the client's `deinit`).
    func closeWithoutWaiting() {
        pubsub.closeWithoutWaiting()
        topologyManager.closeWithoutWaiting()
        nodes.close()
        core.closeWithoutWaiting()
    }

    /// When a request must be answered by (see `ClientCore.deadline`).
    func deadline(blockingTimeout: Duration?, timeout: Duration? = nil) -> Deadline {
        core.deadline(blockingTimeout: blockingTimeout, timeout: timeout)
    }

    // MARK: Commands given as arguments

    /// Sends any command, given as its arguments, where its keys and policies say (or `route`),
    /// and returns the reply, or each node's (`GlideClusterClient.customCommand`).
    func customCommand(_ arguments: [Bytes], route: Route?, timeout: Duration? = nil) async throws(GlideError) -> ClusterValue<RESPValue> {
        try ClientChecks.checkCustomCommand(arguments)
        let metadata = CommandTable.metadata(for: arguments)
        let name = metadata?.name ?? arguments[0].string.uppercased()
        if name == "SELECT" { throw GlideClusterClient.selectRefusal }
        let routing = metadata.map(CommandRouting.init) ?? .unknown
        let decision: RoutingDecision
        if let route {
            guard let routed = Router.decide(name: name, routing: routing, route: route) else {
                throw GlideError(.routing, "slot IDs run from 0 to 16383: \(route)")
            }
            decision = routed
        } else {
            if name == "SCAN" { throw GlideClusterClient.scanRefusal }
            decision = Router.decide(name: name, routing: routing, keySlots: Router.keySlots(of: arguments, metadata: metadata))
        }
        let blocking = CommandTable.blockingTimeout(for: arguments)
        if core.cache != nil, route == nil, blocking == nil, case .slot(let slot, let replicaAllowed) = decision.target {
            // One slot, through the client-side cache, as typed commands go.
            let token = try await send(
                toSlot: slot, replica: replicaAllowed && configuration.readFrom != .primary, readOnly: routing.isReadOnly,
                deadline: deadline(blockingTimeout: nil, timeout: timeout), name: name
            ) { $0.writeRESPCommand(arguments) }
            return .single(RESPValue(token))
        }
        let replies = try await send(
            decision, name: name, readOnly: routing.isReadOnly, deadline: deadline(blockingTimeout: blocking, timeout: timeout),
            explicitRoute: route != nil, blocking: blocking != nil, encode: { $0.writeRESPCommand(arguments) },
            arguments: { arguments })
        switch replies {
        case .single(let token):
            if token.type.isError { throw GlideError.server(token, address: nil) }
            return .single(RESPValue(token))
        case .perNode(let tokens):
            // As for typed commands: one node's error fails the whole request.
            for (address, token) in tokens.sorted(by: { $0.key.description < $1.key.description }) where token.type.isError {
                throw GlideError.server(token, address: address.description)
            }
            return .perNode(tokens.mapValues { RESPValue($0) })
        }
    }
}

/// Lets the supervisor's listener, made before the nodes and the topology manager, reach them.
///
/// `@unchecked Sendable`: both references are set once, in the engine's initializer, before any
/// connection exists and so before the listener can run; after that they are only read.
final class ListenerTargets<Loop: EventLoop, Connector: NodeConnector>: @unchecked Sendable {
    weak var topologyManager: ClusterEngine<Loop, Connector>.Manager?
    weak var nodes: ClusterNodes<Loop, Connector>?
}
