import GlideCommands
public import GlideTopology

/// Where a request goes.
public enum RequestTarget: Sendable, Hashable {
    /// The shard serving `slot`: its primary, or when `replicaAllowed` a node `ReadFrom` picks.
    case slot(UInt16, replicaAllowed: Bool)
    /// Any node (`primaryOnly`: any primary), for commands that name no key.
    case randomNode(primaryOnly: Bool)
    /// Every node.
    case allNodes
    /// Every primary.
    case allPrimaries
    /// Split by slot: each slot's keys go, with their arguments, to that slot's primary (or a
    /// replica for reads when `replicaAllowed`).
    case splitBySlot(replicaAllowed: Bool)
    /// One node, by address.
    case address(NodeAddress)

    /// Whether the target is a single node.
    @inlinable public var isSingleNode: Bool {
        switch self {
        case .slot, .randomNode, .address: true
        case .allNodes, .allPrimaries, .splitBySlot: false
        }
    }
}

/// How the replies of several nodes become one.
public enum ResponseAggregation: Sendable, Hashable {
    /// The first reply that is not an error; the last error when all are.
    case oneSucceeded
    /// The first reply that is neither an error nor null; null when all are null (`RANDOMKEY`).
    case firstNonNull
    /// Every node must succeed; then any reply stands for all (the first node's).
    case allSucceeded
    /// The logical AND of integer or boolean replies, element by element for arrays.
    case logicalAnd
    /// The logical OR, the same way.
    case logicalOr
    /// The smallest integer, element by element for arrays (`WAITAOF`).
    case minimum
    /// The largest integer, the same way.
    case maximum
    /// The sum of integer replies.
    case sum
    /// The arrays concatenated (`KEYS`, `SLOWLOG GET`); for a split command, the elements put
    /// back in the order of the keys they belong to (`MGET`).
    case combineArrays
    /// Maps or flat `[key, count, ...]` arrays merged, counts of a key added up (`PUBSUB NUMSUB`).
    case combineMaps
    /// No way to combine: one value per node, by address (`INFO`).
    case perNode
}

/// A routing decision: where the request goes and, when it reaches several nodes, how their
/// replies combine.
public struct RoutingDecision: Sendable, Hashable {
    /// Where it goes.
    public var target: RequestTarget
    /// How several replies combine; ignored for a single node.
    public var aggregation: ResponseAggregation

    /// A decision.
    @inlinable
    public init(target: RequestTarget, aggregation: ResponseAggregation) {
        self.target = target
        self.aggregation = aggregation
    }
}

/// The slots of a command's keys, found without allocating.
public enum KeySlots: Sendable, Hashable {
    /// The command names no key.
    case none
    /// Every key hashes to `slot`.
    case single(UInt16)
    /// The keys hash to several slots; `first` is the first key's.
    case several(first: UInt16)

    /// Adds a key's slot.
    @inlinable
    public mutating func add(_ slot: UInt16) {
        switch self {
        case .none: self = .single(slot)
        case .single(let current): if current != slot { self = .several(first: current) }
        case .several: break
        }
    }

    /// The slot a single-node request goes to: the only one, or the first key's.
    @inlinable public var firstSlot: UInt16? {
        switch self {
        case .none: nil
        case .single(let slot), .several(let slot): slot
        }
    }
}
