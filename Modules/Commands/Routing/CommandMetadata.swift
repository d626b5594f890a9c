/// What the server says about a command: where its keys are, how it behaves, and how a cluster
/// client must route it and combine the replies.
///
/// Generated from `COMMAND INFO` and `COMMAND DOCS`; look one up with `CommandTable`.
public struct CommandMetadata: Sendable, Hashable {
    /// The name as sent, upper-cased; a subcommand's is its container's and its own,
    /// such as `CLIENT KILL`.
    public let name: String
    /// The number of arguments including the name; negative means at least that many.
    public let arity: Int
    /// The command's flags.
    public let flags: CommandFlags
    /// How to find the keys among the arguments.
    public let keySpecs: [KeySpec]
    /// Where a cluster client sends a command with no key.
    public let requestPolicy: RequestPolicy
    /// How a cluster client combines replies from several nodes.
    public let responsePolicy: ResponsePolicy
    /// Whether the reply may differ between identical calls (`nondeterministic_output`).
    public let nondeterministicOutput: Bool
    /// Whether only the order of the reply may differ (`nondeterministic_output_order`).
    public let nondeterministicOutputOrder: Bool
    /// The documentation group, such as `string` or `sorted-set`.
    public let group: String
    /// The server version that introduced the command.
    public let since: String

    /// Metadata as generated.
    public init(
        name: String, arity: Int, flags: CommandFlags, keySpecs: [KeySpec], requestPolicy: RequestPolicy,
        responsePolicy: ResponsePolicy, nondeterministicOutput: Bool, nondeterministicOutputOrder: Bool,
        group: String, since: String
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.keySpecs = keySpecs
        self.requestPolicy = requestPolicy
        self.responsePolicy = responsePolicy
        self.nondeterministicOutput = nondeterministicOutput
        self.nondeterministicOutputOrder = nondeterministicOutputOrder
        self.group = group
        self.since = since
    }

    /// Whether the command only reads.
    public var isReadOnly: Bool { flags.contains(.readonly) }
    /// Whether the command may write.
    public var isWrite: Bool { flags.contains(.write) }
    /// Whether the command may block the connection.
    public var isBlocking: Bool { flags.contains(.blocking) }
}

/// The flags of `COMMAND INFO`.
public struct CommandFlags: OptionSet, Sendable, Hashable {
    /// The bits.
    public let rawValue: UInt32
    /// Flags from bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `write`: may modify data.
    public static let write = CommandFlags(rawValue: 1 << 0)
    /// `readonly`: reads only.
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    /// `denyoom`: refused when memory is full.
    public static let denyoom = CommandFlags(rawValue: 1 << 2)
    /// `admin`: an administrative command.
    public static let admin = CommandFlags(rawValue: 1 << 3)
    /// `pubsub`: a publish/subscribe command.
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    /// `noscript`: not allowed in scripts.
    public static let noscript = CommandFlags(rawValue: 1 << 5)
    /// `blocking`: may block the connection.
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    /// `loading`: allowed while the server loads its data.
    public static let loading = CommandFlags(rawValue: 1 << 7)
    /// `stale`: allowed on a replica with stale data.
    public static let stale = CommandFlags(rawValue: 1 << 8)
    /// `skip_monitor`: not shown by `MONITOR`.
    public static let skipMonitor = CommandFlags(rawValue: 1 << 9)
    /// `skip_slowlog`: not logged in the slow log.
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 10)
    /// `fast`: O(1) or O(log N).
    public static let fast = CommandFlags(rawValue: 1 << 11)
    /// `no_auth`: allowed before authentication.
    public static let noAuth = CommandFlags(rawValue: 1 << 12)
    /// `may_replicate`: may be replicated.
    public static let mayReplicate = CommandFlags(rawValue: 1 << 13)
    /// `movablekeys`: key positions depend on the arguments.
    public static let movableKeys = CommandFlags(rawValue: 1 << 14)
    /// `no_multi`: not allowed in a transaction.
    public static let noMulti = CommandFlags(rawValue: 1 << 15)
    /// `allow_busy`: allowed while a script runs.
    public static let allowBusy = CommandFlags(rawValue: 1 << 16)
    /// `no_mandatory_keys`: keys are optional.
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 17)
    /// `no_async_loading`: not allowed during asynchronous loading.
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 18)
    /// `module`: provided by a module.
    public static let module = CommandFlags(rawValue: 1 << 19)

    /// The flag named `name` in `COMMAND INFO`, if known.
    public init?(named name: String) {
        let known: [String: CommandFlags] = [
            "write": .write, "readonly": .readonly, "denyoom": .denyoom, "admin": .admin, "pubsub": .pubsub,
            "noscript": .noscript, "blocking": .blocking, "loading": .loading, "stale": .stale,
            "skip_monitor": .skipMonitor, "skip_slowlog": .skipSlowlog, "fast": .fast, "no_auth": .noAuth,
            "may_replicate": .mayReplicate, "movablekeys": .movableKeys, "no_multi": .noMulti,
            "allow_busy": .allowBusy, "no_mandatory_keys": .noMandatoryKeys,
            "no_async_loading": .noAsyncLoading, "module": .module,
        ]
        guard let flag = known[name] else { return nil }
        self = flag
    }
}

/// Where a cluster client sends a command that has no key (`request_policy`).
public enum RequestPolicy: String, Sendable, Hashable {
    /// No tip: by its keys, or to any node when it has none.
    case none
    /// Every node, primaries and replicas.
    case allNodes = "all_nodes"
    /// Every primary, one per shard.
    case allShards = "all_shards"
    /// Split by the slots of its keys, each part to its shard.
    case multiShard = "multi_shard"
    /// Needs command-specific handling.
    case special
}

/// How a cluster client combines the replies of several nodes (`response_policy`).
public enum ResponsePolicy: String, Sendable, Hashable {
    /// No tip: arrays are concatenated in key order, otherwise one reply is taken.
    case none
    /// The first reply that is not an error.
    case oneSucceeded = "one_succeeded"
    /// All must succeed; any error is returned.
    case allSucceeded = "all_succeeded"
    /// The logical AND of integer replies.
    case aggregateLogicalAnd = "agg_logical_and"
    /// The logical OR of integer replies.
    case aggregateLogicalOr = "agg_logical_or"
    /// The smallest of integer replies.
    case aggregateMin = "agg_min"
    /// The largest of integer replies.
    case aggregateMax = "agg_max"
    /// The sum of integer replies.
    case aggregateSum = "agg_sum"
    /// Needs command-specific handling, such as one value per node.
    case special
}

/// One key specification: where the search for keys starts, and how keys are found from there.
public struct KeySpec: Sendable, Hashable {
    /// Where the search starts.
    public enum BeginSearch: Sendable, Hashable {
        /// At this argument index (the command name is index 0).
        case index(Int)
        /// After this keyword, searching from `startFrom` (negative: from the end, backwards).
        case keyword(String, startFrom: Int)
        /// Not described: the keys can't be found from the arguments alone.
        case unknown
    }

    /// How keys are found from the start.
    public enum FindKeys: Sendable, Hashable {
        /// Keys run to `lastKey` (relative to the start; negative counts from the end, -1 is the
        /// last argument), every `keyStep` arguments; a non-zero `limit` keeps 1/limit of what
        /// remains instead.
        case range(lastKey: Int, keyStep: Int, limit: Int)
        /// The argument at `keyNumIndex` gives the key count; keys start `firstKey` after the
        /// start, every `keyStep` arguments.
        case keynum(keyNumIndex: Int, firstKey: Int, keyStep: Int)
        /// Not described.
        case unknown
    }

    /// Where the search starts.
    public let beginSearch: BeginSearch
    /// How keys are found.
    public let findKeys: FindKeys
    /// The spec's flags, such as `RO`, `RW`, `access`, `incomplete`.
    public let flags: [String]

    /// A key specification.
    public init(beginSearch: BeginSearch, findKeys: FindKeys, flags: [String]) {
        self.beginSearch = beginSearch
        self.findKeys = findKeys
        self.flags = flags
    }
}
