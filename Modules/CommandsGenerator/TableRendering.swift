/// Renders the routing metadata table from `COMMAND INFO`.
enum TableRenderer {
    static func render(_ commands: [CommandSpec], snapshot: Snapshot) throws -> String {
        var entries: [String] = []
        var names: [String] = []
        var containers: [String] = []
        for command in commands {
            entries.append(try entry(command))
            if command.isCallable { names.append(Naming.command(command.name)) }
            if !command.subcommands.isEmpty { containers.append(command.words[0]) }
            for subcommand in command.subcommands {
                entries.append(try entry(subcommand))
                names.append(Naming.command(command.name) + "." + Naming.command(subcommand.name))
            }
        }
        var lines: [String] = []
        lines.append("extension CommandTable {")
        lines.append("    /// The server the table was generated from.")
        lines.append("    public static let snapshotServer = \(Naming.literal("\(snapshot.server) \(snapshot.version)"))")
        lines.append("")
        lines.append("    /// The Swift type names of every typed command, one per command and subcommand of the snapshot.")
        lines.append("    public static let typedCommandNames: [String] = [")
        for name in names { lines.append("        \(Naming.literal(name)),") }
        lines.append("    ]")
        lines.append("")
        lines.append("    /// Commands that have subcommands.")
        lines.append("    static let containerNames: Set<String> = [\(containers.map(Naming.literal).joined(separator: ", "))]")
        lines.append("")
        lines.append("    /// Commands refused on a shared connection, by name, with the reason.")
        lines.append("    static let multiplexingRefusals: [String: String] = [")
        for command in commands.flatMap({ [$0] + $0.subcommands }) {
            if case .refused(let reason) = ConnectionEffects.effect(of: command.tableName) {
                lines.append("        \(Naming.literal(command.words.joined(separator: " "))): \(Naming.literal(reason)),")
            }
        }
        lines.append("    ]")
        lines.append("")
        lines.append("    /// One entry per command and subcommand.")
        lines.append("    static func generatedEntries() -> [CommandMetadata] {")
        lines.append("        var entries: [CommandMetadata] = []")
        lines.append("        entries.reserveCapacity(\(entries.count))")
        for entry in entries { lines.append("        entries.append(\(entry))") }
        lines.append("        return entries")
        lines.append("    }")
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// The flags of `command` as `CommandFlags` members (`.readonly`).
    static func flagCases(_ command: CommandSpec) -> [String] {
        command.flags.compactMap { flag -> String? in
            let known = [
                "write": "write", "readonly": "readonly", "denyoom": "denyoom", "admin": "admin",
                "pubsub": "pubsub", "noscript": "noscript", "blocking": "blocking", "loading": "loading",
                "stale": "stale", "skip_monitor": "skipMonitor", "skip_slowlog": "skipSlowlog", "fast": "fast",
                "no_auth": "noAuth", "may_replicate": "mayReplicate", "movablekeys": "movableKeys",
                "no_multi": "noMulti", "allow_busy": "allowBusy", "no_mandatory_keys": "noMandatoryKeys",
                "no_async_loading": "noAsyncLoading", "module": "module",
            ]
            return known[flag].map { "." + $0 }
        }
    }

    /// The request and response policies of `command` as enum case names.
    static func policies(_ command: CommandSpec) -> (request: String, response: String) {
        var request = "none"
        var response = "none"
        for tip in command.tips {
            if tip.hasPrefix("request_policy:") { request = policyCase(String(tip.dropFirst("request_policy:".count))) }
            if tip.hasPrefix("response_policy:") { response = policyCase(String(tip.dropFirst("response_policy:".count))) }
        }
        return (request, response)
    }

    static func entry(_ command: CommandSpec) throws -> String {
        let flags = flagCases(command)
        let (request, response) = policies(command)
        let specs = try command.keySpecs.map(keySpec)
        return "CommandMetadata(name: \(Naming.literal(command.words.joined(separator: " "))), arity: \(command.arity), "
            + "flags: [\(flags.joined(separator: ", "))], keySpecs: [\(specs.joined(separator: ", "))], "
            + "requestPolicy: .\(request), responsePolicy: .\(response), "
            + "nondeterministicOutput: \(command.tips.contains("nondeterministic_output")), "
            + "nondeterministicOutputOrder: \(command.tips.contains("nondeterministic_output_order")), "
            + "group: \(Naming.literal(command.group)), since: \(Naming.literal(command.since)))"
    }

    static func policyCase(_ tip: String) -> String {
        switch tip {
        case "all_nodes": "allNodes"
        case "all_shards": "allShards"
        case "multi_shard": "multiShard"
        case "one_succeeded": "oneSucceeded"
        case "all_succeeded": "allSucceeded"
        case "agg_logical_and": "aggregateLogicalAnd"
        case "agg_logical_or": "aggregateLogicalOr"
        case "agg_min": "aggregateMin"
        case "agg_max": "aggregateMax"
        case "agg_sum": "aggregateSum"
        default: "special"
        }
    }

    static func keySpec(_ json: [String: Any]) throws -> String {
        let begin = json["begin_search"] as? [String: Any] ?? [:]
        let find = json["find_keys"] as? [String: Any] ?? [:]
        let beginSpec = begin["spec"] as? [String: Any] ?? [:]
        let findSpec = find["spec"] as? [String: Any] ?? [:]
        let beginText: String
        switch begin["type"] as? String {
        case "index": beginText = ".index(\(beginSpec["index"] as? Int ?? 0))"
        case "keyword":
            beginText =
                ".keyword(\(Naming.literal(beginSpec["keyword"] as? String ?? "")), startFrom: \(beginSpec["startfrom"] as? Int ?? 0))"
        default: beginText = ".unknown"
        }
        let findText: String
        switch find["type"] as? String {
        case "range":
            findText =
                ".range(lastKey: \(findSpec["lastkey"] as? Int ?? 0), keyStep: \(findSpec["keystep"] as? Int ?? 1), limit: \(findSpec["limit"] as? Int ?? 0))"
        case "keynum":
            findText =
                ".keynum(keyNumIndex: \(findSpec["keynumidx"] as? Int ?? 0), firstKey: \(findSpec["firstkey"] as? Int ?? 1), keyStep: \(findSpec["keystep"] as? Int ?? 1))"
        default: findText = ".unknown"
        }
        let flags = (json["flags"] as? [String] ?? []).map(Naming.literal).joined(separator: ", ")
        return "KeySpec(beginSearch: \(beginText), findKeys: \(findText), flags: [\(flags)])"
    }
}
