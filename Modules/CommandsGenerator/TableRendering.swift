/// Renders the routing metadata table from `COMMAND INFO`.
enum TableRenderer {
    static func render(_ commands: [CommandSpec], snapshot: Snapshot) throws -> String {
        var entries: [[String]] = []
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
        lines.append("    static let containerNames: Set<String> = [")
        for container in containers { lines.append("        \(Naming.literal(container)),") }
        lines.append("    ]")
        lines.append("")
        lines.append("    /// Commands refused on a shared connection, by name, with the reason.")
        lines.append("    static let multiplexingRefusals: [String: String] = [")
        for command in commands.flatMap({ [$0] + $0.subcommands }) {
            if case .refused(let reason) = ConnectionEffects.effect(of: command.tableName) {
                lines.append("        \(Naming.literal(command.words.joined(separator: " "))):")
                lines.append("            \(Naming.literal(reason)),")
            }
        }
        lines.append("    ]")
        lines.append("")
        let parts = stride(from: 0, to: entries.count, by: entriesPerPart).map {
            Array(entries[$0..<min($0 + entriesPerPart, entries.count)])
        }
        lines.append("    /// One entry per command and subcommand, in the snapshot's order.")
        lines.append("    // Built in parts the optimiser may not inline, so a release build stays fast (TableRenderer.entriesPerPart).")
        lines.append("    static func generatedEntries() -> [CommandMetadata] {")
        lines.append("        var entries: [CommandMetadata] = []")
        lines.append("        entries.reserveCapacity(\(entries.count))")
        for index in parts.indices { lines.append("        entriesPart\(index + 1)(into: &entries)") }
        lines.append("        return entries")
        lines.append("    }")
        var first = 1
        for (index, part) in parts.enumerated() {
            lines.append("")
            lines.append("    /// Entries \(first) to \(first + part.count - 1) of `generatedEntries()`.")
            lines.append("    @inline(never)")
            lines.append("    static func entriesPart\(index + 1)(into entries: inout [CommandMetadata]) {")
            for entry in part {
                lines.append("        entries.append(")
                lines.append(contentsOf: entry.map { "            " + $0 })
                lines[lines.count - 1] += ")"
            }
            lines.append("    }")
            first += part.count
        }
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

    /// How many entries one generated function builds.
    ///
    /// One function of all ~400 entries took 16 of the 17 minutes of GlideCommands' release build
    /// (COWArrayOpt's cost grows with a function's loops times its blocks); parts of 25, which the optimiser
    /// may not inline, take seconds. Flags are `union`s rather than array literals, so an entry has no loop.
    static let entriesPerPart = 25

    /// The `CommandMetadata(...)` expression of `command`, one argument per line (swift-format's layout).
    static func entry(_ command: CommandSpec) throws -> [String] {
        let (request, response) = policies(command)
        let specs = try command.keySpecs.map(keySpec)
        var lines = ["CommandMetadata("]
        var arguments = [
            "name: \(Naming.literal(command.words.joined(separator: " ")))",
            "arity: \(command.arity)",
            "flags: \(flagsExpression(flagCases(command)))",
        ]
        if specs.isEmpty {
            arguments.append("keySpecs: []")
        } else {
            // swift-format's layout: a trailing comma only after the last of several.
            let comma = specs.count > 1 ? "," : ""
            let items = specs.enumerated().map { index, spec in
                spec.map { "    " + $0 }.joined(separator: "\n") + (index < specs.count - 1 ? "," : comma)
            }
            arguments.append("keySpecs: [\n" + items.joined(separator: "\n") + "\n]")
        }
        arguments += [
            "requestPolicy: .\(request)",
            "responsePolicy: .\(response)",
            "nondeterministicOutput: \(command.tips.contains("nondeterministic_output"))",
            "nondeterministicOutputOrder: \(command.tips.contains("nondeterministic_output_order"))",
            "group: \(Naming.literal(command.group))",
            "since: \(Naming.literal(command.since)))",
        ]
        for (index, argument) in arguments.enumerated() {
            let text = argument + (index == arguments.count - 1 ? "" : ",")
            lines += text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
        }
        return lines
    }

    /// `flags` as one `CommandFlags` expression without a loop: `CommandFlags()`, `.fast`, or
    /// `CommandFlags.fast.union(.readonly)`.
    static func flagsExpression(_ flags: [String]) -> String {
        guard let first = flags.first else { return "CommandFlags()" }
        if flags.count == 1 { return first }
        return "CommandFlags" + first + flags.dropFirst().map { ".union(\($0))" }.joined()
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

    static func keySpec(_ json: [String: Any]) throws -> [String] {
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
        return ["KeySpec(", "    beginSearch: \(beginText),", "    findKeys: \(findText),", "    flags: [\(flags)])"]
    }
}
