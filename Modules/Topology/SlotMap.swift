/// Which shard serves each of the 16,384 slots: a flat table, so a lookup is one array read.
///
/// Built from an elected `ClusterTopology`, then patched in place by redirections (`MOVED`)
/// until the next refresh replaces it.
public struct SlotMap: Sendable, Hashable {
    /// The nodes of one shard, as routing needs them.
    public struct Shard: Sendable, Hashable {
        /// The node that takes writes.
        public var primary: NodeAddress
        /// The primary's availability zone.
        public var primaryZone: String?
        /// The replicas that serve reads (online ones only).
        public var replicas: [NodeAddress]
        /// Each replica's availability zone, in the order of `replicas`.
        public var replicaZones: [String?]

        /// A shard.
        public init(primary: NodeAddress, primaryZone: String? = nil, replicas: [NodeAddress] = [], replicaZones: [String?]? = nil) {
            self.primary = primary
            self.primaryZone = primaryZone
            self.replicas = replicas
            self.replicaZones = replicaZones ?? Array(repeating: nil, count: replicas.count)
        }
    }

    /// The table's mark for a slot no shard serves.
    public static let unassigned = UInt16.max

    /// The shards; the table holds indices into it.
    public private(set) var shards: [Shard]
    /// Slot → index into `shards`, or `unassigned`.
    @usableFromInline private(set) var table: [UInt16]

    /// A map with no slot assigned.
    public init() {
        shards = []
        table = Array(repeating: Self.unassigned, count: HashSlot.count)
    }

    /// The map of `topology`. Shards without a primary leave their slots unassigned; replicas
    /// that are loading or failed are left out.
    public init(_ topology: ClusterTopology) {
        self.init()
        for shard in topology.shards {
            guard let primary = shard.primary else { continue }
            let serving = shard.replicas.filter { $0.health == .online }
            let index = UInt16(shards.count)
            shards.append(
                Shard(
                    primary: primary.address, primaryZone: primary.availabilityZone,
                    replicas: serving.map(\.address), replicaZones: serving.map(\.availabilityZone)))
            for range in shard.slots {
                for slot in range { table[Int(slot)] = index }
            }
        }
    }

    /// The index of the shard serving `slot`, or `nil` when none does.
    @inlinable
    public func shardIndex(forSlot slot: UInt16) -> Int? {
        let index = table[Int(slot & 0x3FFF)]
        return index == Self.unassigned ? nil : Int(index)
    }

    /// The shard serving `slot`.
    @inlinable
    public func shard(forSlot slot: UInt16) -> Shard? {
        shardIndex(forSlot: slot).map { shards[$0] }
    }

    /// The primary serving `slot`.
    @inlinable
    public func primary(forSlot slot: UInt16) -> NodeAddress? {
        shardIndex(forSlot: slot).map { shards[$0].primary }
    }

    /// The number of slots some shard serves.
    public var assignedSlotCount: Int { table.reduce(0) { $0 + ($1 == Self.unassigned ? 0 : 1) } }

    /// Every node address: primaries first, then replicas.
    public var addresses: [NodeAddress] {
        var seen = Set<NodeAddress>()
        return (shards.map(\.primary) + shards.flatMap(\.replicas)).filter { seen.insert($0).inserted }
    }

    /// What a `MOVED` redirection changed.
    public enum MovedUpdate: Hashable, Sendable {
        /// The slot already pointed at that primary.
        case unchanged
        /// The slot now points at another known primary (a slot migration).
        case slotMoved
        /// The target was a replica of the shard owning the slot, now its primary (a failover);
        /// the old primary became one of its replicas.
        case replicaPromoted
        /// The target was unknown, or a replica of another shard; it now serves the slot as the
        /// primary of a new shard (and leaves the replicas it was listed among).
        case newPrimary
    }

    /// Points `slot` at `address`, as a `MOVED slot address` reply says, without waiting for a
    /// full refresh.
    @discardableResult
    public mutating func applyMoved(slot: UInt16, to address: NodeAddress) -> MovedUpdate {
        let slot = Int(slot & 0x3FFF)
        if let index = shards.firstIndex(where: { $0.primary == address }) {
            if table[slot] == UInt16(index) { return .unchanged }
            table[slot] = UInt16(index)
            return .slotMoved
        }
        // A replica of the shard that owns the slot answering for it: that shard failed over.
        // (A replica of another shard is a node that became a primary of its own: a new shard.)
        if let index = shards.firstIndex(where: { $0.replicas.contains(address) }), table[slot] == UInt16(index) {
            var shard = shards[index]
            let position = shard.replicas.firstIndex(of: address)!
            let zone = shard.replicaZones[position]
            shard.replicas[position] = shard.primary
            shard.replicaZones[position] = shard.primaryZone
            shard.primary = address
            shard.primaryZone = zone
            shards[index] = shard
            table[slot] = UInt16(index)
            return .replicaPromoted
        }
        for index in shards.indices {
            while let position = shards[index].replicas.firstIndex(of: address) {
                shards[index].replicas.remove(at: position)
                shards[index].replicaZones.remove(at: position)
            }
        }
        shards.append(Shard(primary: address))
        table[slot] = UInt16(shards.count - 1)
        return .newPrimary
    }
}
