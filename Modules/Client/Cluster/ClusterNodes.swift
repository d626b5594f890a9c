import GlideConnection
import GlideTransport
import Synchronization

/// The cluster client's view of its nodes: the slot map and one multiplexed connection per node,
/// behind one lock that request paths hold for a lookup and nothing more.
///
/// Connections are created when a node first appears in the map and connect on their first
/// request; the client's supervisor reconnects them in the background after that. A node that
/// leaves the map keeps its connection for a grace period, so requests already on their way there
/// end normally, then it is closed. Generic over the loop and the connector, as the core is.
final class ClusterNodes<Loop: EventLoop, Connector: NodeConnector>: Sendable {
    typealias Connection = NodeConnection<Loop, Connector>

    struct ShardConnections {
        var primary: Connection
        var replicas: [Connection]
    }

    struct State {
        var map = SlotMap()
        var topology: ClusterTopology?
        var connections: [NodeAddress: Connection] = [:]
        /// Aligned with `map.shards`, so a slot lookup needs no hashing.
        var shards: [ShardConnections] = []
        /// Primaries that serve no slot yet (just added): they still take server-wide commands.
        var idlePrimaries: [NodeAddress] = []
        /// Connections that are down (lost, or their last attempt failed): reads skip such
        /// replicas instead of failing there first.
        var down: Set<ObjectIdentifier> = []
        var closed = false
    }

    let configuration: GlideClusterClientConfiguration
    let core: ClientCore<Loop, Connector>
    let state = Lock(State())
    /// Spreads reads over replicas and keyless commands over nodes.
    let rotation = Atomic<Int>(0)
    /// Spreads hedges over a shard's other nodes, apart from `rotation`.
    let hedgeRotation = Atomic<Int>(0)

    /// Takes the connections' pushes and hears of every change to the slot map.
    let relay: PubSubRelay<ClusterPlacement<Loop, Connector>>

    init(
        configuration: GlideClusterClientConfiguration, core: ClientCore<Loop, Connector>,
        relay: PubSubRelay<ClusterPlacement<Loop, Connector>>
    ) {
        self.configuration = configuration
        self.core = core
        self.relay = relay
    }

    // MARK: Lookups (any thread)

    /// The connection for `slot`: its primary, or a node `readFrom` picks when `replica`.
    /// `nil` when no shard serves the slot.
    func connection(forSlot slot: UInt16, replica: Bool) -> Connection? {
        let turn = replica ? rotation.wrappingAdd(1, ordering: .relaxed).oldValue : 0
        return state.withLock { state -> Connection? in
            guard let index = state.map.shardIndex(forSlot: slot) else { return nil }
            let connections = state.shards[index]
            guard replica else { return connections.primary }
            let choice = configuration.readFrom == .primary ? ReadFrom.preferReplica : configuration.readFrom
            let shard = state.map.shards[index]
            let down = state.down
            guard
                let position = choice.replicaIndex(
                    in: shard, clientAZ: configuration.clientAZ, rotation: turn,
                    usable: {
                        down.isEmpty || !down.contains(ObjectIdentifier(connections.replicas[$0]))
                    })
            else {
                return connections.primary
            }
            return connections.replicas[position]
        }
    }

    /// Where a hedge of a read of `slot` sent to `first` goes: the replica `readFrom` would pick
    /// among the shard's others that are not down, else the primary; `nil` when `first` is the
    /// only node of the shard.
    func hedgeConnection(forSlot slot: UInt16, after first: Connection) -> Connection? {
        let turn = hedgeRotation.wrappingAdd(1, ordering: .relaxed).oldValue
        return state.withLock { state -> Connection? in
            guard let index = state.map.shardIndex(forSlot: slot) else { return nil }
            let connections = state.shards[index]
            let choice = configuration.readFrom == .primary ? ReadFrom.preferReplica : configuration.readFrom
            let down = state.down
            let position = choice.replicaIndex(
                in: state.map.shards[index], clientAZ: configuration.clientAZ, rotation: turn,
                usable: { connections.replicas[$0] !== first && !down.contains(ObjectIdentifier(connections.replicas[$0])) })
            let connection = position.map { connections.replicas[$0] } ?? connections.primary
            return connection === first ? nil : connection
        }
    }

    /// Records what happened to `connection` (from the supervisor's listener, on the loop): a
    /// connection that is down is skipped by replica reads until it is ready again.
    func connectionChanged(_ connection: Connection, _ event: ConnectionEvent) {
        let id = ObjectIdentifier(connection)
        let address = connection.connector.address
        state.withLock { state in
            // Only members count: a retired connection's late event must not mark an identity
            // a new object may reuse once it is freed.
            guard state.connections[address] === connection else { return }
            switch event {
            case .ready: state.down.remove(id)
            case .lost, .attemptFailed: state.down.insert(id)
            }
        }
    }

    /// Whether `connection` is a node's current connection, and not down.
    func isUsable(_ connection: Connection) -> Bool {
        state.withLock { state in
            state.connections[connection.connector.address] === connection && !state.down.contains(ObjectIdentifier(connection))
        }
    }

    /// The connection to the node at `address`, if it is a node of the cluster.
    func connection(to address: NodeAddress) -> Connection? {
        state.withLock { $0.connections[address] }
    }

    /// The connection to `address`, opened if the node is new (an `ASK` target not in the map
    /// yet); `nil` once the client is closed.
    func connection(toNew address: NodeAddress) -> Connection? {
        state.withLock { state in
            if state.closed { return nil }
            if let existing = state.connections[address] { return existing }
            let connection = makeConnection(address)
            state.connections[address] = connection
            return connection
        }
    }

    /// Every primary's connection, with its address, slotless primaries included.
    func primaries() -> [(NodeAddress, Connection)] {
        state.withLock { state in
            zip(state.map.shards, state.shards).map { ($0.primary, $1.primary) }
                + state.idlePrimaries.compactMap { address in state.connections[address].map { (address, $0) } }
        }
    }

    /// Every node's connection, with its address: the map's primaries and replicas, slotless
    /// primaries, and replicas still loading (they answer `LOADING`, which is waited out).
    func allNodes() -> [(NodeAddress, Connection)] {
        state.withLock { state in
            state.connections.sorted { $0.key.description < $1.key.description }.map { ($0.key, $0.value) }
        }
    }

    /// Any node (a primary when `primaryOnly`), in turn: one that is up, unless none is.
    func anyNode(primaryOnly: Bool) -> (NodeAddress, Connection)? {
        let all = primaryOnly ? primaries() : allNodes()
        let down = state.withLock { $0.down }
        let up = down.isEmpty ? all : all.filter { !down.contains(ObjectIdentifier($0.1)) }
        let candidates = up.isEmpty ? all : up
        guard !candidates.isEmpty else { return nil }
        let turn = rotation.wrappingAdd(1, ordering: .relaxed).oldValue
        return candidates[Int(UInt(bitPattern: turn) % UInt(candidates.count))]
    }

    /// The addresses to ask for the topology: the known primaries, their replicas, then the
    /// seeds; only the seeds with `refreshTopologyFromInitialNodes`.
    func discoveryCandidates() -> [NodeAddress] {
        if configuration.refreshTopologyFromInitialNodes { return configuration.addresses }
        return state.withLock { $0.map.addresses } + configuration.addresses
    }

    /// The topology adopted last.
    var topology: ClusterTopology? { state.withLock { $0.topology } }

    // MARK: Changes

    /// Adopts `topology`: a new slot map, connections for new nodes, and retirement for nodes
    /// that left. Returns whether anything changed.
    @discardableResult
    func adopt(_ topology: ClusterTopology) -> Bool {
        let map = SlotMap(topology)
        let idle = topology.idleNodes.filter { $0.role == .primary && $0.health != .failed }.map(\.address)
        // Nodes outside the map's serving set that still answer server-wide commands.
        let extra = idle + topology.shards.flatMap(\.replicas).filter { $0.health == .loading }.map(\.address)
        // Connections are made outside the lock (each has buffers to allocate); a node that
        // another thread added meanwhile keeps its existing connection.
        let known = state.withLock { Set($0.connections.keys) }
        var prepared: [NodeAddress: Connection] = [:]
        // In the map's order (the primaries, then the replicas), so that connections
        // spread over several loops put neighbouring primaries on different ones.
        for address in (map.addresses + extra) where !known.contains(address) && prepared[address] == nil {
            prepared[address] = makeConnection(address)
        }
        let (changed, previous, retired, unused) = state.withLock { state -> (Bool, ClusterTopology?, [Connection], [Connection]) in
            let unchanged = state.topology?.comparable == topology.comparable && state.map == map
            guard !state.closed, !unchanged else { return (false, nil, [], Array(prepared.values)) }
            let previous = state.topology
            state.topology = topology
            state.idlePrimaries = idle
            // The password may have changed since these were made; the lock orders it now.
            let password = core.credentials.withLock { $0?.password }
            for connection in prepared.values { connection.passwordChanged(password, username: configuration.credentials?.username) }
            var available = prepared
            let retired = install(map, extra: extra, in: &state, prepared: &available)
            return (true, previous, retired, Array(available.values))
        }
        for connection in unused { core.retire(connection) }
        retire(retired)
        if changed { relay.topologyChanged() }
        // The first view (discovery) is no change; later ones are worked out only for a listener.
        if let previous, core.eventStream.hasConsumers || core.observer != nil {
            for event in TopologyChange(from: previous, to: topology).events { core.events.emit(event, logged: true) }
        }
        return changed
    }

    /// Points `slot` at `address`, as a `MOVED` reply says.
    func applyMoved(slot: UInt16, to address: NodeAddress) {
        let (changed, retired) = state.withLock { state -> (Bool, [Connection]) in
            guard !state.closed else { return (false, []) }
            var map = state.map
            guard map.applyMoved(slot: slot, to: address) != .unchanged else { return (false, []) }
            var none: [NodeAddress: Connection] = [:]
            return (true, install(map, extra: state.idlePrimaries, in: &state, prepared: &none))
        }
        retire(retired)
        if changed { relay.topologyChanged() }
    }

    /// Installs `map`, with connections for its nodes and the `extra` ones (taken from
    /// `prepared` when there, else made here); returns the connections of nodes that left.
    private func install(
        _ map: SlotMap, extra: [NodeAddress], in state: inout State,
        prepared: inout [NodeAddress: Connection]
    ) -> [Connection] {
        var connections: [NodeAddress: Connection] = [:]
        for address in map.addresses + extra where connections[address] == nil {
            connections[address] = state.connections[address] ?? prepared.removeValue(forKey: address) ?? makeConnection(address)
        }
        let retired = state.connections.filter { connections[$0.key] == nil }.map(\.value)
        // A retired connection's identity may be reused by a new object once it is freed.
        for connection in retired { state.down.remove(ObjectIdentifier(connection)) }
        state.shards = map.shards.map { shard in
            ShardConnections(primary: connections[shard.primary]!, replicas: shard.replicas.map { connections[$0]! })
        }
        state.connections = connections
        state.map = map
        return retired
    }

    /// A supervised connection to node `address`, on the next of the client's loops. Requests fail
    /// at once while it can't connect, so the cluster client retries them where the refreshed
    /// topology says.
    func makeConnection(_ address: NodeAddress) -> Connection {
        core.makeConnection(
            address, readOnly: configuration.readFrom != .primary, waitsThroughFailedAttempts: false, spread: true
        ) { [relay] in
            relay.receive($0, from: $1)
        }
    }

    /// Closes connections of nodes that left, once requests already sent there have had time to
    /// end: a task of the supervisor's, so closing the client ends it.
    private func retire(_ connections: [Connection]) {
        guard !connections.isEmpty else { return }
        let grace = configuration.requestTimeout + .seconds(1)
        let core = self.core
        let supervisor = core.supervisor
        core.loop.execute {
            supervisor.assumeIsolated { supervisor in
                _ = supervisor.own {
                    try? await Task.sleep(for: grace)
                    for connection in connections { core.retire(connection) }
                }
            }
        }
    }

    /// Whether `close()` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Forgets every connection (the supervisor closes them); later lookups find none.
    func close() {
        state.withLock { state in
            state.closed = true
            state.connections = [:]
            state.shards = []
            state.map = SlotMap()
        }
    }
}
