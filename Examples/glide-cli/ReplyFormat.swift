import Glide

/// How replies are printed, as valkey-cli prints them.
enum OutputMode {
    /// valkey-cli's terminal format: `"value"`, `(integer) 1`, `1) …`, `(nil)`, `(error) …`.
    case human
    /// The bytes of each value, one per line (`--raw`).
    case raw
    /// Comma-separated values (`--csv`).
    case csv
}

/// Formats replies exactly as valkey-cli (and redis-cli) does for each RESP type, so scripts and
/// eyes used to it read the same thing.
enum ReplyFormat {
    /// `value` in `mode`, ending with a newline.
    static func format(_ value: RESPValue, _ mode: OutputMode) -> String {
        switch mode {
        case .human: human(value, prefix: "")
        case .raw: raw(value) + "\n"
        case .csv: csv(value) + "\n"
        }
    }

    /// A server error as valkey-cli prints it (raw, it ends with an empty line).
    static func error(_ message: String, _ mode: OutputMode) -> String {
        switch mode {
        case .human: "(error) \(message)\n"
        case .raw: "\(message)\n\n"
        case .csv: "ERROR,\"\(message)\"\n"
        }
    }

    // MARK: Human

    private static func human(_ value: RESPValue, prefix: String) -> String {
        switch value {
        case .simpleString(let text): return text.string + "\n"
        case .simpleError(let text), .bulkError(let text): return "(error) \(text.string)\n"
        case .integer(let number): return "(integer) \(number)\n"
        case .bulkString(let bytes): return bytes.quoted + "\n"
        case .null: return "(nil)\n"
        case .boolean(let flag): return flag ? "(true)\n" : "(false)\n"
        case .double(let number): return "(double) \(double(number))\n"
        case .bigNumber(let digits): return "(big number) \(digits.string)\n"
        case .verbatimString(_, let text): return text.string + "\n"
        case .attributed(let inner, _): return human(inner, prefix: prefix)
        case .array(let elements): return aggregate(elements.map { [$0] }, separator: ")", empty: "(empty array)", prefix: prefix)
        case .push(let elements): return aggregate(elements.map { [$0] }, separator: ")", empty: "(empty push)", prefix: prefix)
        case .set(let elements): return aggregate(elements.map { [$0] }, separator: "~", empty: "(empty set)", prefix: prefix)
        case .map(let pairs): return aggregate(pairs.map { [$0.key, $0.value] }, separator: "#", empty: "(empty hash)", prefix: prefix)
        }
    }

    /// Entries numbered from 1, the numbers right-aligned to the widest; a nested aggregate's
    /// lines after its first are indented under its parent's number. A map's entry is
    /// `key => value`.
    private static func aggregate(_ entries: [[RESPValue]], separator: Character, empty: String, prefix: String) -> String {
        guard !entries.isEmpty else { return empty + "\n" }
        let width = String(entries.count).count
        let nested = prefix + String(repeating: " ", count: width + 2)
        var out = ""
        for (index, entry) in entries.enumerated() {
            let number = String(index + 1)
            out += (index == 0 ? "" : prefix) + String(repeating: " ", count: width - number.count) + number + "\(separator) "
            out += human(entry[0], prefix: nested)
            if entry.count == 2 {
                out.removeLast()
                out += " => " + human(entry[1], prefix: nested)
            }
        }
        return out
    }

    /// A double as the server writes it: no `.0` for whole numbers, `inf`, `-inf`, `nan`.
    static func double(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number > 0 ? "inf" : "-inf" }
        if number == number.rounded(), abs(number) < 1e17 { return String(Int64(number)) }
        return String(number)
    }

    // MARK: Raw and CSV

    private static func raw(_ value: RESPValue) -> String {
        switch value {
        case .simpleString(let text), .simpleError(let text), .bulkError(let text), .bigNumber(let text): return text.string
        case .bulkString(let bytes): return bytes.string
        case .verbatimString(_, let text): return text.string
        case .integer(let number): return String(number)
        case .double(let number): return double(number)
        case .boolean(let flag): return flag ? "1" : "0"
        case .null: return ""
        case .attributed(let inner, _): return raw(inner)
        case .array(let elements), .set(let elements), .push(let elements): return elements.map(raw).joined(separator: "\n")
        case .map(let pairs): return pairs.map { raw($0.key) + " " + raw($0.value) }.joined(separator: "\n")
        }
    }

    private static func csv(_ value: RESPValue) -> String {
        switch value {
        case .simpleString(let text), .bigNumber(let text): return text.string
        case .simpleError(let text), .bulkError(let text): return "ERROR," + text.quoted
        case .bulkString(let bytes), .verbatimString(_, let bytes): return bytes.quoted
        case .integer(let number): return String(number)
        case .double(let number): return double(number)
        case .boolean(let flag): return flag ? "true" : "false"
        case .null: return "NULL"
        case .attributed(let inner, _): return csv(inner)
        case .array(let elements), .set(let elements), .push(let elements): return elements.map(csv).joined(separator: ",")
        case .map(let pairs): return pairs.map { csv($0.key) + "," + csv($0.value) }.joined(separator: ",")
        }
    }
}
