import GlideTransport
import Synchronization

/// The cluster client's view of its nodes: the slot map and one multiplexed connection per node,
/// behind one lock that request paths hold for a lookup and nothing more.
///
/// Connections are created when a node first appears in the map and connect on their first
/// request. A node that leaves the map keeps its connection for a grace period, so requests
/// already on their way there end normally, then it is closed.
final class ClusterNodes: Sendable {
    typealias Connection = NodeConnection<EpollEventLoop, SocketConnector>

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
        var closed = false
    }

    let configuration: GlideClusterClientConfiguration
    let state = Mutex(State())
    /// Spreads reads over replicas and keyless commands over nodes.
    let rotation = Atomic<Int>(0)

    init(configuration: GlideClusterClientConfiguration) {
        self.configuration = configuration
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
            guard let position = choice.replicaIndex(in: shard, clientAZ: configuration.clientAZ, rotation: turn) else {
                return connections.primary
            }
            return connections.replicas[position]
        }
    }

    /// The connection to the node at `address`, if it is a node of the cluster.
    func connection(to address: NodeAddress) -> Connection? {
        state.withLock { $0.connections[address] }
    }

    /// The connection to `address`, opened if the node is new (an `ASK` or `MOVED` target not in
    /// the map yet).
    func connection(toNew address: NodeAddress) -> Connection {
        state.withLock { state in
            if let existing = state.connections[address] { return existing }
            let connection = makeConnection(address)
            state.connections[address] = connection
            return connection
        }
    }

    /// Every primary's connection, with its address.
    func primaries() -> [(NodeAddress, Connection)] {
        state.withLock { state in zip(state.map.shards, state.shards).map { ($0.primary, $1.primary) } }
    }

    /// Every node's connection (primaries, then replicas), with its address.
    func allNodes() -> [(NodeAddress, Connection)] {
        state.withLock { state in
            state.map.addresses.compactMap { address in state.connections[address].map { (address, $0) } }
        }
    }

    /// Any node (a primary when `primaryOnly`), in turn.
    func anyNode(primaryOnly: Bool) -> (NodeAddress, Connection)? {
        let candidates = primaryOnly ? primaries() : allNodes()
        guard !candidates.isEmpty else { return nil }
        let turn = rotation.wrappingAdd(1, ordering: .relaxed).oldValue
        return candidates[Int(UInt(bitPattern: turn) % UInt(candidates.count))]
    }

    /// The addresses to ask for the topology: the known primaries, their replicas, then the seeds.
    func discoveryCandidates() -> [NodeAddress] {
        state.withLock { $0.map.addresses } + configuration.addresses
    }

    /// The topology adopted last.
    var topology: ClusterTopology? { state.withLock { $0.topology } }

    // MARK: Changes

    /// Adopts `topology`: a new slot map, connections for new nodes, and retirement for nodes
    /// that left. Returns whether anything changed.
    @discardableResult
    func adopt(_ topology: ClusterTopology) -> Bool {
        let retired = state.withLock { state -> [Connection]? in
            guard !state.closed else { return nil }
            let map = SlotMap(topology)
            if state.topology?.comparable == topology.comparable && state.map == map { return nil }
            state.topology = topology
            return install(map, in: &state)
        }
        guard let retired else { return false }
        retire(retired)
        return true
    }

    /// Points `slot` at `address`, as a `MOVED` reply says.
    func applyMoved(slot: UInt16, to address: NodeAddress) {
        let retired = state.withLock { state -> [Connection] in
            guard !state.closed else { return [] }
            var map = state.map
            guard map.applyMoved(slot: slot, to: address) != .unchanged else { return [] }
            return install(map, in: &state)
        }
        retire(retired)
    }

    /// Installs `map`, creating connections for its new nodes; returns the connections of nodes
    /// no longer in it.
    private func install(_ map: SlotMap, in state: inout State) -> [Connection] {
        var connections: [NodeAddress: Connection] = [:]
        for address in map.addresses {
            connections[address] = state.connections[address] ?? makeConnection(address)
        }
        let retired = state.connections.filter { connections[$0.key] == nil }.map(\.value)
        state.shards = map.shards.map { shard in
            ShardConnections(primary: connections[shard.primary]!, replicas: shard.replicas.map { connections[$0]! })
        }
        state.connections = connections
        state.map = map
        return retired
    }

    func makeConnection(_ address: NodeAddress) -> Connection {
        let handshake = HandshakeConfiguration(
            protocolVersion: configuration.protocolVersion, credentials: configuration.credentials,
            clientName: configuration.clientName, database: configuration.databaseID,
            readOnly: configuration.readFrom != .primary)
        return Connection(
            loop: configuration.eventLoop, connector: SocketConnector(address: address, loop: configuration.eventLoop),
            handshake: handshake, inflightLimit: configuration.inflightRequestsLimit,
            connectionTimeout: configuration.connectionTimeout,
            staleReplyGrace: max(.seconds(2), configuration.requestTimeout))
    }

    /// Closes connections of nodes that left, once requests already sent there have had time to end.
    private func retire(_ connections: [Connection]) {
        guard !connections.isEmpty else { return }
        let grace = configuration.requestTimeout + .seconds(1)
        Task {
            try? await Task.sleep(for: grace)
            for connection in connections { connection.close() }
        }
    }

    /// Closes every connection; later lookups find none.
    func close() {
        let all = state.withLock { state -> [Connection] in
            state.closed = true
            let all = Array(state.connections.values)
            state.connections = [:]
            state.shards = []
            state.map = SlotMap()
            return all
        }
        for connection in all { connection.close() }
    }
}
