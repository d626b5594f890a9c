/// Swift spellings of the names in the command documentation.
enum Naming {
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
        "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
        "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "catch",
        "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Any", "Type", "some", "any",
        "await", "async",
    ]

    /// Words of a documentation name: `unix-time-seconds` → `unix`, `time`, `seconds`.
    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in name {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.isEmpty ? ["value"] : words
    }

    /// `lowerCamelCase`, escaped when it is a keyword.
    static func property(_ name: String) -> String {
        let parts = words(name)
        var result = parts[0].lowercased()
        for part in parts.dropFirst() { result += part.prefix(1).uppercased() + part.dropFirst().lowercased() }
        if result.first?.isNumber == true { result = "_" + result }
        return keywords.contains(result) ? "`\(result)`" : result
    }

    /// `UpperCamelCase`, renamed when Swift reserves it for a nested type.
    static func type(_ name: String) -> String {
        var result = words(name).map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined()
        if result.first?.isNumber == true { result = "N" + result }
        if ["Type", "Self", "Protocol", "Any", "Element", "Index", "Response"].contains(result) { result += "Option" }
        return result
    }

    /// A command's type name: the command upper-cased, `-` as `_`: `CLIENT`, `NO_EVICT`.
    static func command(_ name: String) -> String {
        name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// The plural used for array properties: `key` → `keys`, `data` stays.
    static func plural(_ name: String) -> String {
        let lower = name.lowercased()
        if lower.hasSuffix("s") || lower.hasSuffix("data") || lower.hasSuffix("info") { return name }
        if lower.hasSuffix("x") || lower.hasSuffix("ch") || lower.hasSuffix("sh") { return name + "es" }
        return name + "s"
    }

    /// `text` as a Swift string literal.
    static func literal(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
