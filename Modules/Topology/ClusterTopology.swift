/// A node of the cluster as a topology reply describes it.
public struct ClusterNode: Hashable, Sendable, CustomStringConvertible {
    /// The node's 40-character ID; empty when the reply didn't give one.
    public var id: String
    /// Where clients reach it.
    public var address: NodeAddress
    /// Primary or replica.
    public var role: Role
    /// Whether it serves requests.
    public var health: Health
    /// The `availability-zone` the node was configured with, if any.
    public var availabilityZone: String?

    /// A node's role in its shard.
    public enum Role: Hashable, Sendable {
        /// Owns the shard's slots and takes writes.
        case primary
        /// Copies a primary; serves reads sent with `READONLY`.
        case replica
    }

    /// A node's health as the cluster sees it.
    public enum Health: Hashable, Sendable {
        /// Serving requests.
        case online
        /// Loading its data set (a replica doing its initial sync); not yet serving.
        case loading
        /// Marked failed by the cluster.
        case failed
    }

    /// A node record.
    public init(id: String = "", address: NodeAddress, role: Role, health: Health = .online, availabilityZone: String? = nil) {
        self.id = id
        self.address = address
        self.role = role
        self.health = health
        self.availabilityZone = availabilityZone
    }

    /// `127.0.0.1:7000 primary` and the zone, if any.
    public var description: String {
        var text = "\(address) \(role == .primary ? "primary" : "replica")"
        if health != .online { text += " (\(health))" }
        if let availabilityZone { text += " az=\(availabilityZone)" }
        return text
    }
}

/// A primary, its replicas and the slots they serve.
public struct ClusterShard: Hashable, Sendable {
    /// The slot ranges, sorted and merged.
    public var slots: [ClosedRange<UInt16>]
    /// The primary; `nil` when the reply lists none (a shard whose primary failed).
    public var primary: ClusterNode?
    /// The replicas, in the order the reply gave them.
    public var replicas: [ClusterNode]

    /// A shard.
    public init(slots: [ClosedRange<UInt16>], primary: ClusterNode?, replicas: [ClusterNode] = []) {
        self.slots = ClusterShard.merged(slots)
        self.primary = primary
        self.replicas = replicas
    }

    /// The number of slots served.
    public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }

    /// Sorts ranges and joins those that overlap or touch.
    static func merged(_ ranges: [ClosedRange<UInt16>]) -> [ClosedRange<UInt16>] {
        var result: [ClosedRange<UInt16>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, Int(range.lowerBound) <= Int(last.upperBound) + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// One node's view of the cluster: which shards serve which slots.
///
/// Two views are the same view when they agree on slots, node IDs, addresses, roles and zones;
/// health and replication offsets, which change all the time, are left out of the comparison.
public struct ClusterTopology: Hashable, Sendable, CustomStringConvertible {
    /// The shards that serve slots, sorted by their first slot. Shards without slots are kept in
    /// `idleNodes`.
    public private(set) var shards: [ClusterShard]
    /// Nodes that belong to the cluster but serve no slot (a primary added with no slots yet).
    public private(set) var idleNodes: [ClusterNode]

    /// A view from its shards; slotless shards contribute their nodes to `idleNodes`.
    public init(shards: [ClusterShard]) {
        var serving: [ClusterShard] = []
        var idle: [ClusterNode] = []
        for shard in shards {
            if shard.slots.isEmpty {
                idle += (shard.primary.map { [$0] } ?? []) + shard.replicas
            } else {
                serving.append(shard)
            }
        }
        self.shards = serving.sorted { $0.slots[0].lowerBound < $1.slots[0].lowerBound }
        self.idleNodes = idle.sorted { $0.address.description < $1.address.description }
    }

    /// Every node: primaries, then replicas, then idle nodes.
    public var nodes: [ClusterNode] {
        shards.compactMap(\.primary) + shards.flatMap(\.replicas) + idleNodes
    }

    /// The number of slots some shard serves.
    public var coveredSlotCount: Int { shards.reduce(0) { $0 + $1.slotCount } }

    /// Whether every slot is served.
    public var coversAllSlots: Bool { coveredSlotCount == HashSlot.count }

    /// The part of the view that elections compare: without health, sorted replicas.
    public var comparable: ClusterTopology {
        func stable(_ node: ClusterNode) -> ClusterNode {
            var node = node
            node.health = .online
            return node
        }
        var copy = self
        copy.shards = shards.map { shard in
            ClusterShard(
                slots: shard.slots, primary: shard.primary.map(stable),
                replicas: shard.replicas.map(stable).sorted { $0.address.description < $1.address.description })
        }
        copy.idleNodes = idleNodes.map(stable)
        return copy
    }

    /// One line per shard: `0-5460 127.0.0.1:7000 (replicas 127.0.0.1:7003)`.
    public var description: String {
        shards.map { shard in
            let ranges = shard.slots.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            let replicas = shard.replicas.isEmpty ? "" : " (replicas \(shard.replicas.map(\.address.description).joined(separator: ", ")))"
            return "\(ranges.joined(separator: ",")) \(shard.primary?.address.description ?? "no primary")\(replicas)"
        }.joined(separator: "\n")
    }
}
