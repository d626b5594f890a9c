import Foundation

/// The snapshot of `COMMAND DOCS` and `COMMAND INFO` that `.ci/snapshot-commands` writes.
struct Snapshot {
    let server: String
    let version: String
    /// Top-level commands, sorted by name.
    let commands: [CommandSpec]

    init(contentsOf url: URL, argumentOverrides: [String: ArgumentSpec.Kind] = [:]) throws {
        let data = try Data(contentsOf: url)
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let commands = root["commands"] as? [String: Any]
        else {
            throw GeneratorError("\(url.path) is not a command snapshot")
        }
        server = root["server"] as? String ?? "valkey"
        version = root["version"] as? String ?? "?"
        self.commands = try commands.keys.sorted().map { name in
            let entry = commands[name] as? [String: Any] ?? [:]
            return try CommandSpec(
                name: name, docs: entry["docs"] as? [String: Any] ?? [:],
                info: entry["info"] as? [String: Any] ?? [:], container: nil,
                argumentOverrides: argumentOverrides)
        }
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One command or subcommand.
struct CommandSpec {
    /// The lower-case name without its container, such as `kill` for `client|kill`.
    let name: String
    /// The container's spec name, such as `client`, for a subcommand.
    let container: String?
    let group: String
    let summary: String
    let since: String
    let complexity: String?
    let deprecatedSince: String?
    let replacedBy: String?
    let arguments: [ArgumentSpec]
    let arity: Int
    let flags: [String]
    let keySpecs: [[String: Any]]
    let tips: [String]
    let subcommands: [CommandSpec]

    init(
        name fullName: String, docs: [String: Any], info: [String: Any], container: String?,
        argumentOverrides: [String: ArgumentSpec.Kind] = [:]
    ) throws {
        self.name = fullName.split(separator: "|").last.map(String.init) ?? fullName
        self.container = container
        group = docs["group"] as? String ?? "server"
        summary = docs["summary"] as? String ?? ""
        since = docs["since"] as? String ?? "1.0.0"
        complexity = docs["complexity"] as? String
        deprecatedSince = docs["deprecated_since"] as? String
        replacedBy = docs["replaced_by"] as? String
        let tableName = ((container.map { [$0] } ?? []) + [fullName.split(separator: "|").last.map(String.init) ?? fullName])
            .joined(separator: " ")
        arguments = try (docs["arguments"] as? [[String: Any]] ?? []).map(ArgumentSpec.init).map { argument in
            argument.applying(argumentOverrides, path: tableName)
        }
        arity = info["arity"] as? Int ?? -1
        flags = info["flags"] as? [String] ?? []
        keySpecs = info["key_specs"] as? [[String: Any]] ?? []
        tips = info["tips"] as? [String] ?? []
        let subDocs = docs["subcommands"] as? [String: Any] ?? [:]
        let subInfo = info["subcommands"] as? [String: Any] ?? [:]
        subcommands = try Set(subDocs.keys).union(subInfo.keys).sorted().map { subName in
            try CommandSpec(
                name: subName, docs: subDocs[subName] as? [String: Any] ?? [:],
                info: subInfo[subName] as? [String: Any] ?? [:], container: fullName,
                argumentOverrides: argumentOverrides)
        }
    }

    /// The words sent for the command, such as `["CLIENT", "KILL"]`.
    var words: [String] {
        (container.map { [$0.uppercased()] } ?? []) + [name.uppercased()]
    }

    /// The name as the reply table and the routing table key it: `client kill`.
    var tableName: String { words.joined(separator: " ").lowercased() }

    /// Whether the command can be called without a subcommand: a plain command, or a container
    /// whose arity allows its name alone (such as `COMMAND`).
    var isCallable: Bool { subcommands.isEmpty || arity == -1 || arity == 1 }
}

/// One argument, as `COMMAND DOCS` describes it.
struct ArgumentSpec {
    enum Kind: String {
        case key, string, integer, double, pattern
        case unixTime = "unix-time"
        case pureToken = "pure-token"
        case oneof, block
    }

    let name: String
    var kind: Kind
    let token: String?
    let displayText: String
    let summary: String?
    let isOptional: Bool
    let isMultiple: Bool
    let isMultipleToken: Bool
    var children: [ArgumentSpec]

    /// This argument with the overrides for it and its children applied; an override is keyed by
    /// the command and the argument names down to it: `bitfield operation get-block offset`.
    func applying(_ overrides: [String: Kind], path: String) -> ArgumentSpec {
        let own = path + " " + name
        var copy = self
        if let kind = overrides[own] { copy.kind = kind }
        copy.children = children.map { $0.applying(overrides, path: own) }
        return copy
    }

    /// Whether this argument is, or contains, a key a cluster client routes by: a `key`, or a
    /// sharded pub/sub channel (routed by its slot like a key, though the docs don't type it so).
    var namesKeys: Bool {
        kind == .key || name == "shardchannel" || children.contains { $0.namesKeys }
    }

    /// Every argument path below `prefix`, for checking that overrides name something.
    func paths(under prefix: String) -> [String] {
        let own = prefix + " " + name
        return [own] + children.flatMap { $0.paths(under: own) }
    }

    init(_ json: [String: Any]) throws {
        name = json["name"] as? String ?? "argument"
        guard let kind = Kind(rawValue: json["type"] as? String ?? "") else {
            throw GeneratorError("argument \(name) has an unknown type \(json["type"] ?? "none")")
        }
        self.kind = kind
        token = json["token"] as? String
        displayText = json["display_text"] as? String ?? name
        summary = json["summary"] as? String
        let flags = json["flags"] as? [String] ?? []
        isOptional = flags.contains("optional")
        isMultiple = flags.contains("multiple")
        isMultipleToken = flags.contains("multiple_token")
        children = try (json["arguments"] as? [[String: Any]] ?? []).map(ArgumentSpec.init)
    }
}
