public import GlideTopology

/// Which node serves read-only commands.
public enum ReadFrom: Hashable, Sendable {
    /// Always the primary: the freshest data.
    case primary
    /// Replicas in turn, or the primary when no replica is reachable.
    case preferReplica
    /// Replicas in the client's availability zone in turn, then other replicas, then the primary.
    case azAffinity
    /// Replicas and then the primary in the client's availability zone, then any other node.
    case azAffinityReplicasAndPrimary
}

extension ReadFrom {
    /// The node of `shard` that serves a read, the `rotation`-th choice among equals (callers
    /// pass a counter they increment, which spreads reads round robin).
    ///
    /// Zones come from each node's `availability-zone`; with no `clientAZ`, the zone strategies
    /// behave as `preferReplica`.
    @inlinable
    public func node(in shard: SlotMap.Shard, clientAZ: String?, rotation: Int) -> NodeAddress {
        switch self {
        case .primary:
            return shard.primary
        case .preferReplica:
            return Self.pick(shard.replicas, rotation) ?? shard.primary
        case .azAffinity, .azAffinityReplicasAndPrimary:
            if let clientAZ {
                if let local = Self.pick(shard.replicas, rotation, where: { shard.replicaZones[$0] == clientAZ }) { return local }
                if self == .azAffinityReplicasAndPrimary, shard.primaryZone == clientAZ { return shard.primary }
            }
            return Self.pick(shard.replicas, rotation) ?? shard.primary
        }
    }

    /// The `rotation`-th of the candidates (wrapping), or `nil` when there are none.
    @inlinable
    static func pick(_ nodes: [NodeAddress], _ rotation: Int) -> NodeAddress? {
        nodes.isEmpty ? nil : nodes[Int(UInt(bitPattern: rotation) % UInt(nodes.count))]
    }

    /// The `rotation`-th of the nodes whose index passes `include`, without building a list.
    @inlinable
    static func pick(_ nodes: [NodeAddress], _ rotation: Int, where include: (Int) -> Bool) -> NodeAddress? {
        var count = 0
        for index in nodes.indices where include(index) { count += 1 }
        guard count > 0 else { return nil }
        var wanted = Int(UInt(bitPattern: rotation) % UInt(count))
        for index in nodes.indices where include(index) {
            if wanted == 0 { return nodes[index] }
            wanted -= 1
        }
        return nil
    }
}
