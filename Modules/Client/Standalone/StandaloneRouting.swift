import GlideConnection
import GlideTransport
import Synchronization

/// Where a standalone client's requests go: the primary's connection for writes, and for reads
/// the node `readFrom` picks. The supervisor publishes a new table whenever roles or reachability
/// change; every request reads it under one short lock.
final class StandaloneRouting<Connection: AnyObject & Sendable>: Sendable {
    struct Table: Sendable {
        /// Aligned with `topology.nodes`.
        var connections: [Connection]
        var topology: StandaloneTopology
        /// Computed once per table, so a read allocates nothing: the reachable replicas, and
        /// those of them in the client's zone.
        var replicas: [Int]
        var localReplicas: [Int]
        var primaryIsLocal: Bool

        init(connections: [Connection], topology: StandaloneTopology, clientAZ: String?) {
            self.connections = connections
            self.topology = topology
            let replicas = topology.replicas
            self.replicas = replicas
            localReplicas = clientAZ.map { zone in replicas.filter { topology.nodes[$0].zone == zone } } ?? []
            primaryIsLocal = clientAZ != nil && topology.nodes[topology.primary].zone == clientAZ
        }
    }

    let table: Lock<Table>
    let readFrom: ReadFrom
    let clientAZ: String?
    /// Spreads reads over replicas.
    let rotation = Atomic<Int>(0)
    /// Spreads hedges over the other nodes: a turn of its own, so hedging leaves the reads'
    /// rotation as it is.
    let hedgeRotation = Atomic<Int>(0)

    init(connections: [Connection], topology: StandaloneTopology, readFrom: ReadFrom, clientAZ: String?) {
        table = Lock(Table(connections: connections, topology: topology, clientAZ: clientAZ))
        self.readFrom = readFrom
        self.clientAZ = clientAZ
    }

    /// The connection for a request: a read goes where `readFrom` says (or `override`, for one
    /// call), anything else to the primary.
    func connection(forRead read: Bool, override: ReadFrom? = nil) -> Connection {
        let strategy = override ?? readFrom
        let turn = read && strategy != .primary ? rotation.wrappingAdd(1, ordering: .relaxed).oldValue : 0
        return table.withLock { table in
            let index = read ? Self.readIndex(table, readFrom: strategy, rotation: turn) : table.topology.primary
            return table.connections[index]
        }
    }

    /// Where a hedge of a read sent to `first` goes: the choice `readFrom` (or `override`) would
    /// make among the other nodes; `nil` when reads go to the primary only, or no other node may
    /// serve them.
    func hedgeConnection(after first: Connection, override: ReadFrom? = nil) -> Connection? {
        let strategy = override ?? readFrom
        guard strategy != .primary else { return nil }
        let turn = hedgeRotation.wrappingAdd(1, ordering: .relaxed).oldValue
        return table.withLock { table in
            var others = table
            others.replicas.removeAll { table.connections[$0] === first }
            others.localReplicas.removeAll { table.connections[$0] === first }
            let connection = table.connections[Self.readIndex(others, readFrom: strategy, rotation: turn)]
            return connection === first ? nil : connection
        }
    }

    /// The primary's connection.
    var primary: Connection { table.withLock { $0.connections[$0.topology.primary] } }

    /// Every node's connection.
    var all: [Connection] { table.withLock { $0.connections } }

    /// The connection to the node at `address`, if the client knows that node.
    func connection(at address: NodeAddress) -> Connection? {
        table.withLock { table in table.topology.index(of: address).map { table.connections[$0] } }
    }

    /// Publishes a new table.
    func update(_ connections: [Connection], _ topology: StandaloneTopology) {
        let next = Table(connections: connections, topology: topology, clientAZ: clientAZ)
        table.withLock { $0 = next }
    }

    /// The node a read goes to, the `rotation`-th choice among equals:
    /// - `primary`: the primary;
    /// - `preferReplica`: the reachable replicas in turn, else the primary;
    /// - `azAffinity`: reachable replicas in the client's zone in turn, else any reachable
    ///   replica, else the primary;
    /// - `azAffinityReplicasAndPrimary`: reachable replicas in the client's zone, else the
    ///   primary when it is in that zone, else any reachable replica, else the primary.
    static func readIndex(_ table: Table, readFrom: ReadFrom, rotation: Int) -> Int {
        func pick(_ candidates: [Int]) -> Int? {
            candidates.isEmpty ? nil : candidates[Int(UInt(bitPattern: rotation) % UInt(candidates.count))]
        }
        let primary = table.topology.primary
        switch readFrom {
        case .primary:
            return primary
        case .preferReplica:
            return pick(table.replicas) ?? primary
        case .azAffinity:
            return pick(table.localReplicas) ?? pick(table.replicas) ?? primary
        case .azAffinityReplicasAndPrimary:
            if let local = pick(table.localReplicas) { return local }
            if table.primaryIsLocal { return primary }
            return pick(table.replicas) ?? primary
        }
    }
}
