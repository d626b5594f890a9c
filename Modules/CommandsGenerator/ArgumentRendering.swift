import Foundation

/// The Swift type of one value of an argument (before `optional` and `multiple` apply).
enum ValueType {
    /// `BulkString`: keys, strings, patterns.
    case bulk
    /// `Int`: integers and Unix times.
    case integer
    /// `Double`.
    case double
    /// A nested enum or struct generated for a `oneof` or `block`.
    case nested(String)

    var swift: String {
        switch self {
        case .bulk: "BulkString"
        case .integer: "Int"
        case .double: "Double"
        case .nested(let name): name
        }
    }

    /// Whether one value is exactly one argument on the wire.
    var isScalar: Bool {
        if case .nested = self { return false }
        return true
    }

    /// Statements writing `value`.
    func write(_ value: String) -> String {
        switch self {
        case .integer: "buffer.writeRESPBulkString(\(value))"
        default: "\(value).writeRESPArguments(into: &buffer)"
        }
    }

    /// The argument count of `value`.
    func count(_ value: String) -> String {
        isScalar ? "1" : "\(value).respArgumentCount"
    }
}

/// How one documented argument is stored, initialised, counted and written.
struct Slot {
    enum Shape {
        /// A pure token: a `Bool` when optional, always written when required.
        case token(optional: Bool)
        /// A count the client computes from the argument after it (`numkeys`).
        case computedCount(of: String)
        /// One value.
        case single(ValueType, optional: Bool)
        /// Zero or more values.
        case multiple(ValueType, optional: Bool, tokenEach: Bool)
    }

    let spec: ArgumentSpec
    let property: String
    let shape: Shape

    /// The stored property's type, or nil when nothing is stored.
    var storedType: String? {
        switch shape {
        case .token(let optional): optional ? "Bool" : nil
        case .computedCount: nil
        case .single(let type, let optional): optional ? "\(type.swift)?" : type.swift
        case .multiple(let type, _, _): "[\(type.swift)]"
        }
    }

    /// The token written before the value, as the client sends it.
    var token: String? {
        let documented = spec.kind == .pureToken ? (spec.token ?? "") : spec.token
        return documented.map { Self.geoUnits.contains($0) ? $0.lowercased() : $0 }
    }

    /// Distance units, which servers before Redis 7.0 read in lower case only, as every server
    /// reads them; `COMMAND DOCS` spells them in upper case.
    static let geoUnits: Set<String> = ["M", "KM", "FT", "MI"]

    /// The number of arguments this slot writes, reading the property through `reference`.
    func count(_ reference: String) -> String {
        let tokenCount = token == nil ? 0 : 1
        switch shape {
        case .token(let optional):
            return optional ? "(\(reference) ? 1 : 0)" : "1"
        case .computedCount:
            return "\(tokenCount + 1)"
        case .single(let type, let optional):
            if !optional {
                if type.isScalar { return "\(tokenCount + 1)" }
                return tokenCount == 0 ? type.count(reference) : "\(tokenCount) + \(type.count(reference))"
            }
            if type.isScalar { return "(\(reference) == nil ? 0 : \(tokenCount + 1))" }
            return tokenCount == 0
                ? "(\(reference)?.respArgumentCount ?? 0)"
                : "(\(reference).map { \(tokenCount) + $0.respArgumentCount } ?? 0)"
        case .multiple(let type, let optional, let tokenEach):
            let perValue = tokenEach && token != nil ? 1 : 0
            let values =
                type.isScalar
                ? (perValue == 0 ? "\(reference).count" : "\(reference).count * 2")
                : "\(reference).reduce(0) { $0 + \(perValue) + $1.respArgumentCount }"
            guard token != nil, !tokenEach else { return values }
            return optional ? "(\(reference).isEmpty ? 0 : 1 + \(values))" : "(1 + \(values))"
        }
    }

    /// Statements writing this slot, reading the property through `reference`; `counted` names
    /// the property a computed count counts.
    func write(_ reference: String, counted: (String) -> String) -> [String] {
        let tokenLine = token.map { "buffer.writeRESPToken(\(Naming.literal($0)))" }
        switch shape {
        case .token(let optional):
            return optional ? ["if \(reference) { \(tokenLine!) }"] : [tokenLine!]
        case .computedCount(let of):
            return (tokenLine.map { [$0] } ?? []) + ["buffer.writeRESPBulkString(\(counted(of)).count)"]
        case .single(let type, let optional):
            if !optional { return (tokenLine.map { [$0] } ?? []) + [type.write(reference)] }
            return ["if let value = \(reference) {"] + (tokenLine.map { ["    " + $0] } ?? [])
                + ["    " + type.write("value"), "}"]
        case .multiple(let type, let optional, let tokenEach):
            var lines: [String] = []
            if let tokenLine, !tokenEach {
                lines.append(optional ? "if !\(reference).isEmpty { \(tokenLine) }" : tokenLine)
            }
            lines.append("for value in \(reference) {")
            if let tokenLine, tokenEach { lines.append("    " + tokenLine) }
            lines.append("    " + type.write("value"))
            lines.append("}")
            return lines
        }
    }

    /// Statements calling `body` with each key this slot holds, reading the property through
    /// `reference`; none when it holds no key.
    func visitKeys(_ reference: String) -> [String] {
        guard spec.namesKeys else { return [] }
        switch shape {
        case .token, .computedCount:
            return []
        case .single(let type, let optional):
            let visit: (String) -> String = type.isScalar ? { "body(\($0))" } : { "\($0).forEachKey(body)" }
            return optional ? ["if let value = \(reference) { \(visit("value")) }"] : [visit(reference)]
        case .multiple(let type, _, _):
            return ["for value in \(reference) { \(type.isScalar ? "body(value)" : "value.forEachKey(body)") }"]
        }
    }

    /// The init parameter declaring this slot, the generic parameter it needs (a sequence of
    /// anything `BulkStringConvertible`), and the expression that stores it. Nil for slots with
    /// nothing to store.
    func parameter(label: String?) -> (declaration: String, generic: String?, value: String)? {
        guard let storedType else { return nil }
        let name = property
        let bare = name.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        let labelPart = label == nil ? "_ \(name)" : (label == name ? name : "\(label!) \(name)")
        switch shape {
        case .token:
            return ("\(labelPart): Bool = false", nil, name)
        case .single(.bulk, false):
            return ("\(labelPart): some BulkStringConvertible", nil, "\(name).bulkString")
        case .multiple(.bulk, let optional, _):
            let generic = Naming.type(bare) + "Sequence"
            let defaultValue = optional ? " = [BulkString]()" : ""
            return ("\(labelPart): \(generic)\(defaultValue)", generic, "\(name).map(\\.bulkString)")
        case .single(_, true):
            return ("\(labelPart): \(storedType) = nil", nil, name)
        case .multiple(_, true, _):
            return ("\(labelPart): \(storedType) = []", nil, name)
        default:
            return ("\(labelPart): \(storedType)", nil, name)
        }
    }
}

/// Builds the slots of an argument list and the nested types they need, writing the nested
/// types' declarations to `nested`.
struct SlotBuilder {
    var nested: [String] = []
    /// Names already taken by nested types in the enclosing type.
    var takenTypeNames: Set<String> = []

    mutating func slots(for arguments: [ArgumentSpec], insideOneOf: Bool = false) -> [Slot] {
        var slots: [Slot] = []
        var takenProperties: Set<String> = []
        for (index, argument) in arguments.enumerated() {
            var property = Naming.property(argument.isMultiple ? Naming.plural(argument.name) : argument.name)
            while takenProperties.contains(property) { property += "2" }
            takenProperties.insert(property)
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument.kind == .integer, ["numkeys", "numfields", "num-vertices"].contains(argument.name),
                let next, next.isMultiple
            {
                let counted = Naming.property(Naming.plural(next.name))
                slots.append(Slot(spec: argument, property: property, shape: .computedCount(of: counted)))
                continue
            }
            let optional = argument.isOptional && !insideOneOf
            if argument.kind == .pureToken {
                slots.append(Slot(spec: argument, property: property, shape: .token(optional: optional)))
                continue
            }
            let type = valueType(for: argument)
            if argument.isMultiple {
                slots.append(
                    Slot(
                        spec: argument, property: property,
                        shape: .multiple(type, optional: optional, tokenEach: argument.isMultipleToken)))
            } else {
                slots.append(Slot(spec: argument, property: property, shape: .single(type, optional: optional)))
            }
        }
        return slots
    }

    mutating func valueType(for argument: ArgumentSpec) -> ValueType {
        switch argument.kind {
        case .key, .string, .pattern: return .bulk
        case .integer, .unixTime: return .integer
        case .double: return .double
        case .pureToken: return .bulk
        case .oneof:
            let name = uniqueTypeName(argument.name)
            nested.append(renderEnum(name: name, argument: argument))
            return .nested(name)
        case .block:
            let name = uniqueTypeName(argument.name)
            nested.append(renderStruct(name: name, argument: argument))
            return .nested(name)
        }
    }

    mutating func uniqueTypeName(_ name: String) -> String {
        var typeName = Naming.type(name)
        while takenTypeNames.contains(typeName) { typeName += "2" }
        takenTypeNames.insert(typeName)
        return typeName
    }

    /// A `oneof`: an enum with a case per alternative.
    func renderEnum(name: String, argument: ArgumentSpec) -> String {
        var inner = SlotBuilder()
        let alternatives = inner.slots(for: argument.children, insideOneOf: true)
        var lines: [String] = []
        lines.append("/// \(argument.summary ?? "One of: " + argument.children.map { Syntax.of($0) }.joined(separator: ", ")).")
        lines.append("public enum \(name): RESPArgument, Sendable, Hashable {")
        for slot in alternatives {
            lines.append("    /// `\(Syntax.of(slot.spec))`")
            if let type = slot.storedType, slot.shape.hasPayload {
                lines.append("    case \(slot.property)(\(type))")
            } else {
                lines.append("    case \(slot.property)")
            }
        }
        for declaration in inner.nested { lines.append(indent(declaration, by: 1)) }
        lines.append("")
        lines.append("    /// The number of arguments written.")
        lines.append("    @inlinable public var respArgumentCount: Int {")
        lines.append("        switch self {")
        for slot in alternatives {
            if slot.shape.hasPayload {
                let count = slot.count("value")
                let binding = count.contains("value") ? "(let value)" : ""
                lines.append("        case .\(slot.property.replacingOccurrences(of: "`", with: ""))\(binding): \(count)")
            } else {
                lines.append("        case .\(slot.property.replacingOccurrences(of: "`", with: "")): \(slot.count("true"))")
            }
        }
        lines.append("        }")
        lines.append("    }")
        lines.append("")
        lines.append("    /// Writes the alternative's arguments.")
        lines.append("    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {")
        lines.append("        switch self {")
        for slot in alternatives {
            let caseName = slot.property.replacingOccurrences(of: "`", with: "")
            if slot.shape.hasPayload {
                lines.append("        case .\(caseName)(let value):")
                for line in slot.write("value", counted: { _ in "value" }) { lines.append("            " + line) }
            } else {
                lines.append("        case .\(caseName):")
                for line in slot.write("true", counted: { _ in "[]" }) { lines.append("            " + line) }
            }
        }
        lines.append("        }")
        lines.append("    }")
        if argument.namesKeys {
            lines.append("")
            lines.append("    /// Calls `body` with each key of the alternative.")
            lines.append("    @inlinable public func forEachKey(_ body: (BulkString) -> Void) {")
            lines.append("        switch self {")
            for slot in alternatives where slot.shape.hasPayload && slot.spec.namesKeys {
                lines.append("        case .\(slot.property.replacingOccurrences(of: "`", with: ""))(let value):")
                for line in slot.visitKeys("value") { lines.append("            " + line) }
            }
            if alternatives.contains(where: { !($0.shape.hasPayload && $0.spec.namesKeys) }) {
                lines.append("        default:")
                lines.append("            break")
            }
            lines.append("        }")
            lines.append("    }")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// A `block`: a struct with a property per part.
    func renderStruct(name: String, argument: ArgumentSpec) -> String {
        var inner = SlotBuilder()
        let parts = inner.slots(for: argument.children)
        var lines: [String] = []
        lines.append("/// `\(Syntax.ofChildren(argument))`")
        lines.append("public struct \(name): RESPArgument, Sendable, Hashable {")
        for slot in parts {
            guard let type = slot.storedType else { continue }
            lines.append("    /// `\(Syntax.of(slot.spec))`")
            lines.append("    public var \(slot.property): \(type)")
        }
        for declaration in inner.nested { lines.append(indent(declaration, by: 1)) }
        lines.append(
            contentsOf: renderInit(parts, labelled: { _ in true }, documentation: "Sets every part.")
                .map { $0.isEmpty ? "" : "    " + $0 })
        lines.append("")
        lines.append("    /// The number of arguments written.")
        lines.append("    @inlinable public var respArgumentCount: Int {")
        lines.append("        " + countExpression(parts, reference: { $0 }))
        lines.append("    }")
        lines.append("")
        lines.append("    /// Writes the parts in order.")
        lines.append("    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {")
        for slot in parts {
            for line in slot.write(slot.property, counted: { $0 }) { lines.append("        " + line) }
        }
        lines.append("    }")
        if argument.namesKeys {
            lines.append("")
            lines.append("    /// Calls `body` with each key of the parts, in order.")
            lines.append("    @inlinable public func forEachKey(_ body: (BulkString) -> Void) {")
            for slot in parts {
                for line in slot.visitKeys(slot.property) { lines.append("        " + line) }
            }
            lines.append("    }")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

extension Slot.Shape {
    var hasPayload: Bool {
        switch self {
        case .single, .multiple: true
        case .token, .computedCount: false
        }
    }
}

/// A memberwise `init` over `slots`; `labelled` says which parameters carry a label.
func renderInit(_ slots: [Slot], labelled: (Int) -> Bool, documentation: String) -> [String] {
    var parameters: [String] = []
    var generics: [String] = []
    var assignments: [String] = []
    for (index, slot) in slots.enumerated() {
        let label = labelled(index) ? slot.property : nil
        guard let parameter = slot.parameter(label: label) else { continue }
        parameters.append(parameter.declaration)
        if let generic = parameter.generic { generics.append(generic) }
        assignments.append("self.\(slot.property) = \(parameter.value)")
    }
    let genericClause = generics.isEmpty ? "" : "<\(generics.joined(separator: ", "))>"
    let whereClause =
        generics.isEmpty
        ? ""
        : " where " + generics.map { "\($0): Sequence, \($0).Element: BulkStringConvertible" }.joined(separator: ", ")
    var lines: [String] = []
    lines.append("")
    lines.append("/// \(documentation)")
    lines.append("@inlinable")
    lines.append("public init\(genericClause)(\(parameters.joined(separator: ", ")))\(whereClause) {")
    for assignment in assignments { lines.append("    " + assignment) }
    lines.append("}")
    return lines
}

/// The sum of the slots' counts.
func countExpression(_ slots: [Slot], reference: (String) -> String) -> String {
    let terms = slots.map { $0.count(reference($0.property)) }
    return terms.isEmpty ? "0" : terms.joined(separator: " + ")
}

func indent(_ text: String, by levels: Int) -> String {
    let padding = String(repeating: "    ", count: levels)
    return text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : padding + $0 }.joined(separator: "\n")
}

/// The documentation's syntax notation: `[NX | XX]`, `key [key ...]`.
enum Syntax {
    static func of(_ argument: ArgumentSpec) -> String {
        var text: String
        switch argument.kind {
        case .pureToken:
            text = argument.token ?? "\"\""
        case .oneof:
            text = argument.children.map(of).joined(separator: " | ")
            if !argument.isOptional { text = "<" + text + ">" }
        case .block:
            text = ofChildren(argument)
        default:
            text = argument.displayText
        }
        if argument.kind != .pureToken, let token = argument.token {
            text = argument.isMultipleToken ? text : token + " " + text
        }
        if argument.isMultiple {
            let repeated = argument.isMultipleToken ? (argument.token.map { $0 + " " } ?? "") + text : text
            text = (argument.isMultipleToken ? repeated : text) + " [" + (argument.isMultipleToken ? repeated : bare(argument)) + " ...]"
        }
        return argument.isOptional ? "[" + text + "]" : text
    }

    static func ofChildren(_ argument: ArgumentSpec) -> String {
        argument.children.map(of).joined(separator: " ")
    }

    private static func bare(_ argument: ArgumentSpec) -> String {
        switch argument.kind {
        case .oneof: argument.children.map(of).joined(separator: " | ")
        case .block: ofChildren(argument)
        default: argument.displayText
        }
    }
}
