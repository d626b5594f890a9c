import Foundation

/// Renders command structs, with their nested argument types, from specs.
struct CommandRenderer {
    /// Reply types by table name (`client kill`), from `replies.txt`.
    let replies: [String: String]

    /// The declaration of a top-level command, with its subcommands as nested types.
    func render(_ command: CommandSpec) throws -> String {
        var parts: [String] = []
        let typeName = Naming.command(command.name)
        if command.subcommands.isEmpty || command.isCallable {
            parts.append(try renderStruct(command))
        } else {
            parts.append(documentation(command, syntax: false) + "\npublic enum \(typeName) {}")
        }
        if !command.subcommands.isEmpty {
            var body: [String] = []
            for subcommand in command.subcommands {
                body.append(indent(try renderStruct(subcommand), by: 1))
            }
            parts.append("extension \(typeName) {\n" + body.joined(separator: "\n\n") + "\n}")
        }
        return parts.joined(separator: "\n\n")
    }

    func documentation(_ command: CommandSpec, syntax: Bool = true) -> String {
        var lines: [String] = []
        let summary = command.summary.isEmpty ? "The `\(command.words.joined(separator: " "))` command." : command.summary
        lines.append("/// \(summary)")
        if syntax {
            lines.append("///")
            lines.append("/// ```")
            lines.append("/// \(([command.words.joined(separator: " ")] + command.arguments.map(Syntax.of)).joined(separator: " "))")
            lines.append("/// ```")
        }
        lines.append("///")
        if let complexity = command.complexity { lines.append("/// - Complexity: \(complexity)") }
        lines.append("/// - Since: \(command.since)")
        if let deprecated = command.deprecatedSince {
            lines.append("/// - Note: Deprecated since \(deprecated)" + (command.replacedBy.map { "; replaced by \($0)." } ?? "."))
        }
        return lines.joined(separator: "\n")
    }

    func renderStruct(_ command: CommandSpec) throws -> String {
        let typeName = Naming.command(command.name)
        var builder = SlotBuilder()
        builder.takenTypeNames = Set(command.subcommands.map { Naming.command($0.name) })
        let slots = builder.slots(for: command.arguments)
        let reply = try ReplyType(replies[command.tableName] ?? "value", command: command.tableName)

        var lines: [String] = []
        lines.append(documentation(command))
        lines.append("public struct \(typeName): GlideCommand {")
        lines.append("    /// \(reply.documentation)")
        lines.append("    public typealias Response = \(reply.swift)")
        lines.append("")
        lines.append("    /// `\(command.words.joined(separator: " "))`")
        lines.append("    @inlinable public static var name: String { \(Naming.literal(command.words.joined(separator: " "))) }")
        for slot in slots {
            guard let type = slot.storedType else { continue }
            lines.append("")
            lines.append("    /// `\(Syntax.of(slot.spec))`" + (slot.spec.summary.map { ": \($0)" } ?? ""))
            lines.append("    public var \(slot.property): \(type)")
        }
        for declaration in builder.nested {
            lines.append("")
            lines.append(indent(declaration, by: 1))
        }
        // Leading required keys and strings read naturally without labels: GET("k"), SET("k", "v").
        var unlabelled = 0
        for slot in slots {
            if case .single(.bulk, false) = slot.shape {
                unlabelled += 1
                continue
            }
            if case .multiple(.bulk, false, _) = slot.shape {
                unlabelled += 1
                continue
            }
            if case .computedCount = slot.shape {
                unlabelled += 1
                continue
            }
            break
        }
        lines.append(
            contentsOf: renderInit(slots, labelled: { $0 >= unlabelled }, documentation: "The command with its arguments.")
                .map { $0.isEmpty ? "" : "    " + $0 })
        lines.append("")
        lines.append("    /// Writes the command.")
        lines.append("    @inlinable")
        lines.append("    public func encode(into buffer: inout RESPCommandBuffer) {")
        let counts = [String(command.words.count)] + slots.map { $0.count($0.property) }
        lines.append("        buffer.writeRESPArrayHeader(count: \(counts.joined(separator: " + ")))")
        for word in command.words { lines.append("        buffer.writeRESPToken(\(Naming.literal(word)))") }
        for slot in slots {
            for line in slot.write(slot.property, counted: { $0 }) { lines.append("        " + line) }
        }
        lines.append("    }")
        let (request, response) = TableRenderer.policies(command)
        let flags = TableRenderer.flagCases(command).joined(separator: ", ")
        lines.append("")
        lines.append("    /// How a cluster client routes the command.")
        lines.append("    @inlinable public static var routing: CommandRouting {")
        lines.append("        CommandRouting(requestPolicy: .\(request), responsePolicy: .\(response), flags: [\(flags)])")
        lines.append("    }")
        let keyVisits = slots.flatMap { $0.visitKeys($0.property) }
        lines.append("")
        lines.append(keyVisits.isEmpty ? "    /// The command names no key." : "    /// Calls `body` with each key, in argument order.")
        lines.append("    @inlinable public func forEachKey(_ body: (BulkString) -> Void) {" + (keyVisits.isEmpty ? "}" : ""))
        if !keyVisits.isEmpty {
            for line in keyVisits { lines.append("        " + line) }
            lines.append("    }")
        }
        switch ConnectionEffects.effect(of: command.tableName) {
        case .none:
            break
        case .selectsDatabase:
            lines.append("")
            lines.append("    /// The database this command switches the connection to.")
            lines.append("    @inlinable public var selectedDatabase: Int? { index }")
        case .refused(let reason):
            lines.append("")
            lines.append("    /// Why this command can't run on a shared, multiplexed connection.")
            lines.append("    @inlinable public static var multiplexingRefusal: String? { \(Naming.literal(reason)) }")
        }
        if let blocking = blockingTimeout(command, slots: slots) {
            lines.append("")
            lines.append("    /// How long the server may hold the reply back.")
            lines.append("    @inlinable public var blockingTimeout: Duration? { \(blocking) }")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// The expression for a blocking command's own timeout: a `timeout` in seconds (lists, sorted
    /// sets) or milliseconds (WAIT, WAITAOF), or `BLOCK milliseconds` (streams).
    func blockingTimeout(_ command: CommandSpec, slots: [Slot]) -> String? {
        guard command.flags.contains("blocking") else { return nil }
        for slot in slots {
            switch (slot.spec.name, slot.shape) {
            case ("timeout", .single(.double, false)): return "BlockingTimeout.seconds(timeout)"
            case ("timeout", .single(.integer, false)): return "BlockingTimeout.milliseconds(timeout)"
            case ("milliseconds", .single(.integer, true)): return "milliseconds.map(BlockingTimeout.milliseconds)"
            default: continue
            }
        }
        return nil
    }
}

/// A reply type from `replies.txt`.
struct ReplyType {
    let swift: String
    let documentation: String

    init(_ spec: String, command: String) throws {
        func type(_ spec: String) throws -> String {
            if spec.hasPrefix("["), spec.hasSuffix("]") { return "[" + (try type(String(spec.dropFirst().dropLast()))) + "]" }
            if spec.hasPrefix("{"), spec.hasSuffix("}") {
                let parts = spec.dropFirst().dropLast().split(separator: ":").map(String.init)
                guard parts.count == 2 else { throw GeneratorError("\(command): bad map type \(spec)") }
                return "[" + (try type(parts[0])) + ": " + (try type(parts[1])) + "]"
            }
            let optional = spec.hasSuffix("?")
            let base = optional ? String(spec.dropLast()) : spec
            let name: String
            switch base {
            case "ok": return "Void"
            case "int": name = "Int"
            case "bool": name = "Bool"
            case "double": name = "Double"
            case "string": name = "String"
            case "bytes": name = "Bytes"
            case "value": return "RESPValue"
            case "scan": name = "ScanPage"
            case "entries": return "[StreamEntry]"
            case "positions": return "[GeoPosition?]"
            default: throw GeneratorError("\(command): unknown reply type \(spec)")
            }
            return optional ? name + "?" : name
        }
        swift = try type(spec)
        switch spec {
        case "ok": documentation = "The reply is `OK`."
        case "value": documentation = "The reply as sent; its shape depends on the arguments."
        default: documentation = "The reply."
        }
    }
}

/// What a command does to the connection it runs on, beyond its reply.
enum ConnectionEffects {
    enum Effect {
        case none
        /// `SELECT`: the client re-selects it after reconnecting.
        case selectsDatabase
        /// Breaks one reply per request, or resets state every caller shares.
        case refused(String)
    }

    static func effect(of command: String) -> Effect {
        switch command {
        case "select":
            return .selectsDatabase
        case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe":
            return .refused(
                "\(command.uppercased()) would make the shared connection a message stream; use the client's "
                    + "\(command), which survives reconnections")
        case "watch", "unwatch":
            return .refused(
                "\(command.uppercased()) on the shared connection can be undone by another caller's EXEC or UNWATCH; "
                    + "run it inside withDedicatedConnection")
        case "multi", "exec", "discard":
            return .refused(
                "\(command.uppercased()) on the shared connection would take in other callers' commands; use "
                    + "Batch(isAtomic: true) or withDedicatedConnection")
        case "monitor":
            return .refused("MONITOR would make the shared connection a stream of every command run; use the client's monitor()")
        case "client reply":
            return .refused("CLIENT REPLY would leave requests on the shared connection without replies")
        case "reset":
            return .refused("RESET would undo the authentication and database every caller of the connection relies on")
        default:
            return .none
        }
    }
}
