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
        replicaIndex(in: shard, clientAZ: clientAZ, rotation: rotation).map { shard.replicas[$0] } ?? shard.primary
    }

    /// The same choice as `node(in:clientAZ:rotation:)`, as an index into `shard.replicas`, or
    /// `nil` for the primary. Only replicas `usable` accepts are chosen (the client passes the
    /// ones whose connection is up), in the same order of preference.
    @inlinable
    public func replicaIndex(
        in shard: SlotMap.Shard, clientAZ: String?, rotation: Int,
        usable: (Int) -> Bool = { _ in true }
    ) -> Int? {
        switch self {
        case .primary:
            return nil
        case .preferReplica:
            return Self.pick(shard.replicas.count, rotation, where: usable)
        case .azAffinity, .azAffinityReplicasAndPrimary:
            if let clientAZ {
                if let local = Self.pick(shard.replicas.count, rotation, where: { shard.replicaZones[$0] == clientAZ && usable($0) }) {
                    return local
                }
                if self == .azAffinityReplicasAndPrimary, shard.primaryZone == clientAZ { return nil }
            }
            return Self.pick(shard.replicas.count, rotation, where: usable)
        }
    }

    /// The `rotation`-th (wrapping) of the indices below `count` that pass `include`, without
    /// building a list; `nil` when none does.
    @inlinable
    static func pick(_ count: Int, _ rotation: Int, where include: (Int) -> Bool) -> Int? {
        var matching = 0
        for index in 0..<count where include(index) { matching += 1 }
        guard matching > 0 else { return nil }
        var wanted = Int(UInt(bitPattern: rotation) % UInt(matching))
        for index in 0..<count where include(index) {
            if wanted == 0 { return index }
            wanted -= 1
        }
        return nil
    }
}
