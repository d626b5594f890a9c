public import GlideCommands
public import GlideTopology

/// Where a caller asks a cluster client to send a command, instead of where its keys and
/// policies would send it.
public enum Route: Sendable, Hashable {
    /// Every node, primaries and replicas. Replies combine by the command's response policy,
    /// or come back one per node.
    case allNodes
    /// Every primary.
    case allPrimaries
    /// Any one node.
    case randomNode
    /// The node serving `key`'s slot.
    case slotKey(BulkString, SlotNodeRole)
    /// The node serving slot `id` (0...16383).
    case slotID(Int, SlotNodeRole)
    /// The node at `host:port`, which must be a node of the cluster.
    case byAddress(host: String, port: Int)

    /// The node of `address`.
    public static func byAddress(_ address: NodeAddress) -> Route { .byAddress(host: address.host, port: address.port) }
}

/// Which node of a slot's shard a `Route` means.
public enum SlotNodeRole: Sendable, Hashable {
    /// The primary.
    case primary
    /// A replica, chosen as `readFrom` chooses them (the primary when there is none).
    case replica
}
