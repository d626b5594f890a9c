public import GlideBuffers
public import GlideCommands
public import GlideTopology

/// Pure routing: from a command's keys, policies and flags (and an explicit `Route`, when the
/// caller gives one) to a `RoutingDecision`. No I/O, no clock, no state.
///
/// The policies are the server's own `request_policy` and `response_policy` tips, with a few
/// overrides where a tip leaves a cluster caller worse off; `Router.overrides` lists them.
public enum Router {
    // MARK: Keys

    /// The slots of a typed command's keys: one `forEachKey` pass, hashing each key in place.
    @inlinable
    public static func keySlots<Command: GlideCommand>(of command: Command) -> KeySlots {
        var slots = KeySlots.none
        command.forEachKey { key in slots.add(key.withUnsafeBytes { HashSlot.slot(of: $0) }) }
        return slots
    }

    /// The slots of the keys of a command given as arguments, found with the routing table.
    public static func keySlots(of arguments: [Bytes], metadata: CommandMetadata?) -> KeySlots {
        var slots = KeySlots.none
        guard let metadata else {
            // An unknown command (a module's): its first argument is taken as its key, as GLIDE does.
            if arguments.count > 1 { slots.add(HashSlot.of(arguments[1])) }
            return slots
        }
        for index in metadata.keyIndices(in: arguments) { slots.add(HashSlot.of(arguments[index])) }
        return slots
    }

    // MARK: Decisions

    /// Where a command goes by its own keys and policies.
    ///
    /// - A command with keys goes to its slot (the first key's, if they differ and the command
    ///   can't be split: the server then answers `CROSSSLOT`), to a replica only when it is
    ///   read-only.
    /// - `multi_shard` commands whose keys span slots (`MGET`, `MSET`, `DEL`, …) are split.
    /// - `all_nodes` and `all_shards` commands without keys go to every node or every primary.
    /// - Anything else without keys goes to any one node: a primary unless it is read-only.
    @inlinable
    public static func decide(name: String, routing: CommandRouting, keySlots: KeySlots) -> RoutingDecision {
        let readOnly = routing.isReadOnly
        switch keySlots {
        case .single(let slot):
            return RoutingDecision(target: .slot(slot, replicaAllowed: readOnly), aggregation: .allSucceeded)
        case .several(let first):
            if routing.requestPolicy == .multiShard || name == "WATCH" {
                return RoutingDecision(
                    target: .splitBySlot(replicaAllowed: readOnly),
                    aggregation: aggregation(name: name, routing: routing))
            }
            return RoutingDecision(target: .slot(first, replicaAllowed: readOnly), aggregation: .allSucceeded)
        case .none:
            return keylessDecision(name: name, routing: routing)
        }
    }

    /// Where a command goes when the caller gives `route`. `nil` for a slot ID out of range.
    public static func decide(name: String, routing: CommandRouting, route: Route) -> RoutingDecision? {
        let aggregation = aggregation(name: name, routing: routing)
        switch route {
        case .allNodes:
            return RoutingDecision(target: .allNodes, aggregation: aggregation)
        case .allPrimaries:
            return RoutingDecision(target: .allPrimaries, aggregation: aggregation)
        case .randomNode:
            return RoutingDecision(target: .randomNode(primaryOnly: false), aggregation: aggregation)
        case .slotKey(let key, let role):
            let slot = key.withUnsafeBytes { HashSlot.slot(of: $0) }
            return RoutingDecision(target: .slot(slot, replicaAllowed: role == .replica), aggregation: aggregation)
        case .slotID(let id, let role):
            guard (0..<HashSlot.count).contains(id) else { return nil }
            return RoutingDecision(target: .slot(UInt16(id), replicaAllowed: role == .replica), aggregation: aggregation)
        case .byAddress(let host, let port):
            return RoutingDecision(target: .address(NodeAddress(host: host, port: port)), aggregation: aggregation)
        }
    }

    /// The decision for a command that names no key.
    @usableFromInline
    static func keylessDecision(name: String, routing: CommandRouting) -> RoutingDecision {
        let override = overrides[name]
        let aggregation = override?.aggregation ?? aggregation(name: name, routing: routing)
        switch override?.request ?? routing.requestPolicy {
        case .allNodes:
            return RoutingDecision(target: .allNodes, aggregation: aggregation)
        case .allShards:
            return RoutingDecision(target: .allPrimaries, aggregation: aggregation)
        case .none, .multiShard, .special:
            // Only what is marked read-only may reach a replica: scripts (EVAL with no keys) and
            // commands the table doesn't know carry no write flag, yet may write.
            return RoutingDecision(target: .randomNode(primaryOnly: !routing.isReadOnly), aggregation: aggregation)
        }
    }

    /// How several replies of the command combine: the override, else its response policy, else
    /// (no policy) concatenated arrays for a split command and one value per node otherwise.
    public static func aggregation(name: String, routing: CommandRouting) -> ResponseAggregation {
        if let aggregation = overrides[name]?.aggregation { return aggregation }
        switch routing.responsePolicy {
        case .oneSucceeded: return .oneSucceeded
        case .allSucceeded: return .allSucceeded
        case .aggregateLogicalAnd: return .logicalAnd
        case .aggregateLogicalOr: return .logicalOr
        case .aggregateMin: return .minimum
        case .aggregateMax: return .maximum
        case .aggregateSum: return .sum
        case .special: return .perNode
        case .none: return routing.requestPolicy == .multiShard ? .combineArrays : .perNode
        }
    }

    /// Where the tips leave a cluster caller worse off, what is used instead (GLIDE makes the
    /// same choices): keys, random keys, pub/sub introspection and slow logs gather what every
    /// node knows, `WATCH` is split by slot like `DEL`, and `UNWATCH` reaches every primary.
    public static let overrides: [String: (request: RequestPolicy?, aggregation: ResponseAggregation?)] = [
        "KEYS": (nil, .combineArrays),
        "RANDOMKEY": (nil, .firstNonNull),
        "WATCH": (.multiShard, .allSucceeded),
        "UNWATCH": (.allShards, .allSucceeded),
        "PUBSUB CHANNELS": (.allNodes, .combineArrays),
        "PUBSUB SHARDCHANNELS": (.allNodes, .combineArrays),
        "PUBSUB NUMSUB": (.allNodes, .combineMaps),
        "PUBSUB SHARDNUMSUB": (.allNodes, .combineMaps),
        "PUBSUB NUMPAT": (.allNodes, .sum),
        "SLOWLOG GET": (nil, .combineArrays),
        "COMMANDLOG GET": (nil, .combineArrays),
    ]
}
