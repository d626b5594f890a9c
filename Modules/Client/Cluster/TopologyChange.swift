import GlideConnection
import GlideTopology
import GlideTransport

/// What changed between two views of a cluster, as events: the failovers (a replica that became
/// its shard's primary), the nodes that left and joined, and the slot ranges whose primary changed
/// otherwise (a reshard). Pure: the refresh that adopts a new view reports it.
struct TopologyChange: Equatable {
    var failovers: [(from: NodeAddress?, to: NodeAddress)] = []
    var removed: [NodeAddress] = []
    var added: [NodeAddress] = []
    var moved: [(slots: ClosedRange<UInt16>, from: NodeAddress?, to: NodeAddress?)] = []

    init(from old: ClusterTopology, to new: ClusterTopology) {
        let oldNodes = Set(old.nodes.map(\.address))
        let newNodes = Set(new.nodes.map(\.address))
        removed = oldNodes.subtracting(newNodes).sorted { $0.description < $1.description }
        added = newNodes.subtracting(oldNodes).sorted { $0.description < $1.description }
        let before = Self.owners(old)
        let after = Self.owners(new)
        // A new primary that was a replica of the shard whose slots it now serves: that shard's
        // primary handed over to it.
        for shard in new.shards {
            guard let primary = shard.primary?.address, let first = shard.slots.first?.lowerBound,
                let owner = before[Int(first)], owner != primary,
                old.shards.contains(where: { $0.primary?.address == owner && $0.replicas.contains { $0.address == primary } })
            else { continue }
            failovers.append((owner, primary))
        }
        var slot = 0
        while slot < HashSlot.count {
            let (from, to) = (before[slot], after[slot])
            guard from != to, !failovers.contains(where: { $0.from == from && $0.to == to }) else {
                slot += 1
                continue
            }
            var last = slot
            while last + 1 < HashSlot.count && before[last + 1] == from && after[last + 1] == to { last += 1 }
            moved.append((UInt16(slot)...UInt16(last), from, to))
            slot = last + 1
        }
    }

    /// The primary of each slot, `nil` where none serves it.
    private static func owners(_ topology: ClusterTopology) -> [NodeAddress?] {
        var owners = [NodeAddress?](repeating: nil, count: HashSlot.count)
        for shard in topology.shards {
            guard let primary = shard.primary?.address else { continue }
            for range in shard.slots {
                for slot in range { owners[Int(slot)] = primary }
            }
        }
        return owners
    }

    /// The events, in the order above.
    var events: [GlideEvent] {
        failovers.map { .failover(from: $0.from, to: $0.to) } + removed.map { .nodeRemoved($0) } + added.map { .nodeAdded($0) }
            + moved.map { .slotsMoved($0.slots, from: $0.from, to: $0.to) }
    }

    static func == (lhs: TopologyChange, rhs: TopologyChange) -> Bool { lhs.events == rhs.events }
}
