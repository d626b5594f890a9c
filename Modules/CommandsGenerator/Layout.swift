/// The last step of generation: every line longer than `limit` is broken the way swift-format lays it
/// out, so the generated sources pass `make lint` as they are written (the generator can't run the
/// formatter: its output is compared with the committed files by a test).
///
/// Each form below is a fixed point of `swift-format format` with the committed `.swift-format`; a
/// long line that matches none of them is an error, so a new shape is noticed at `make generate`.
enum Layout {
    /// `.swift-format`'s `lineLength`.
    static let limit = 140

    /// `text` with its long lines broken.
    static func apply(_ text: String, file: String) throws -> String {
        var output: [String] = []
        var inCodeBlock = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let body = line.drop { $0 == " " }
            if body == "/// ```" { inCodeBlock.toggle() }
            guard line.count > limit else {
                output.append(line)
                continue
            }
            guard let broken = breakLine(line, inCodeBlock: inCodeBlock) else {
                throw GeneratorError("\(file): no layout for a line of \(line.count) columns: \(line)")
            }
            output += broken
        }
        return output.joined(separator: "\n")
    }

    /// The long `line` as several, or `nil` when it has no known shape.
    static func breakLine(_ line: String, inCodeBlock: Bool) -> [String]? {
        let indentation = String(line.prefix { $0 == " " })
        let body = String(line.dropFirst(indentation.count))
        let inner = indentation + "    "
        if body.hasPrefix("/// ") { return documentation(body, indentation: indentation, inCodeBlock: inCodeBlock) }
        if body.hasPrefix("public init"), body.hasSuffix(" {"), let open = body.firstIndex(of: "(") {
            return initializer(
                head: String(body[..<open]), rest: String(body[open...].dropLast(2)), indentation: indentation)
        }
        if body.hasPrefix("buffer.writeRESPArrayHeader(count: "), body.hasSuffix(")") {
            let terms = split(String(body.dropFirst("buffer.writeRESPArrayHeader(count: ".count).dropLast()), at: " + ")
            return closed(
                [indentation + "buffer.writeRESPArrayHeader(", inner + "count: " + terms[0]]
                    + terms.dropFirst().map { inner + "    + " + $0 })
        }
        if body.hasPrefix("CommandRouting("), body.hasSuffix(")") {
            let arguments = split(String(body.dropFirst("CommandRouting(".count).dropLast()), at: ", ")
            return closed([indentation + "CommandRouting("] + commaSeparated(arguments, indentation: inner))
        }
        if body.hasPrefix("@inlinable public "), body.hasSuffix(" }"), let brace = body.firstIndex(of: "{") {
            let value = body[body.index(after: brace)...].dropLast(2).trimmingCharacters(in: .whitespaces)
            return [indentation + body[..<brace] + "{", inner + value, indentation + "}"]
        }
        return nil
    }

    /// `lines` with a `)` after the last.
    static func closed(_ lines: [String]) -> [String] {
        lines.dropLast() + [lines[lines.count - 1] + ")"]
    }

    /// A parenthesised list, one element per line, each but the last ending with a comma.
    static func commaSeparated(_ elements: [String], indentation: String) -> [String] {
        elements.enumerated().map { index, element in
            indentation + element + (index == elements.count - 1 ? "" : ",")
        }
    }

    /// An initializer's declaration: one parameter per line, then the `where` clause after `)` when
    /// it fits there, else on lines of its own with one sequence's requirements per line.
    static func initializer(head: String, rest: String, indentation: String) -> [String] {
        // `rest` is `(parameters)` or `(parameters) where requirements`; a `where` label sits inside.
        let parts = split(rest, at: " where ")
        let parameters = split(String(parts[0].dropFirst().dropLast()), at: ", ")
        var lines = [indentation + head + "("] + commaSeparated(parameters, indentation: indentation + "    ")
        guard parts.count > 1 else { return lines + [indentation + ") {"] }
        if indentation.count + ") where \(parts[1]) {".count <= limit {
            lines.append(indentation + ") where \(parts[1]) {")
        } else {
            let clauses = split(parts[1], at: ", ")
            // Pairs: `X: Sequence, X.Element: BulkStringConvertible`.
            let pairs = stride(from: 0, to: clauses.count, by: 2).map { clauses[$0..<min($0 + 2, clauses.count)].joined(separator: ", ") }
            lines += [indentation + ")", indentation + "where"]
            lines += commaSeparated(pairs, indentation: indentation + "    ")
            lines.append(indentation + "{")
        }
        return lines
    }

    /// A `///` line wrapped at word boundaries. A list item's continuation lines are indented under
    /// its text, a code block's by four spaces, so the Markdown reads the same.
    static func documentation(_ body: String, indentation: String, inCodeBlock: Bool) -> [String] {
        let text = String(body.dropFirst(4))
        let continuation = inCodeBlock ? "    " : text.hasPrefix("- ") ? "  " : ""
        var lines: [String] = []
        var current = indentation + "/// "
        var currentHasWord = false
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if currentHasWord, current.count + 1 + word.count > limit {
                lines.append(current)
                current = indentation + "/// " + continuation + word
            } else {
                current += (currentHasWord ? " " : "") + word
            }
            currentHasWord = true
        }
        lines.append(current)
        return lines
    }

    /// `text` split at each top-level `separator`: outside brackets, parentheses, braces and string
    /// literals.
    static func split(_ text: String, at separator: String) -> [String] {
        var parts: [String] = []
        var depth = 0
        var inString = false
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if inString {
                if character == "\\" {
                    index = text.index(after: index)
                } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
            } else if "([{".contains(character) {
                depth += 1
            } else if ")]}".contains(character) {
                depth -= 1
            } else if depth == 0, text[index...].hasPrefix(separator) {
                parts.append(String(text[start..<index]))
                index = text.index(index, offsetBy: separator.count)
                start = index
                continue
            }
            index = text.index(after: index)
        }
        parts.append(String(text[start...]))
        return parts
    }
}
