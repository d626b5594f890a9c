import Foundation
import Glide

/// The interactive prompt's line editor: a small termios editor of our own (no readline). Keys:
/// printable characters, Backspace, Left/Right, Home/End (and Ctrl-A/Ctrl-E), Up/Down through
/// the history, Ctrl-U (clear the line), Ctrl-C (clear, or quit on an empty line), Ctrl-D (quit
/// on an empty line), Enter. A dim hint after the text shows the rest of the command's syntax.
final class LineEditor {
    private var original = termios()
    private var history: [String]
    private let historyFile: String?
    private let hint: (String) -> String?

    /// An editor with the history in `historyFile` (created if missing) and `hint` for the
    /// syntax still to type after a line.
    init(historyFile: String?, hint: @escaping (String) -> String?) {
        self.historyFile = historyFile
        self.hint = hint
        let saved = historyFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        history = saved.split(separator: "\n").map(String.init)
    }

    /// Reads one line after `prompt`; `nil` at the end of input (Ctrl-D on an empty line, or
    /// Ctrl-C on an empty line).
    func readLine(prompt: String) -> String? {
        tcgetattr(STDIN_FILENO, &original)
        var raw = original
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        // TCSANOW, not TCSAFLUSH: keys typed while the last command ran are kept, not discarded.
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        defer { tcsetattr(STDIN_FILENO, TCSANOW, &original) }

        var line: [UInt8] = []
        var cursor = 0
        var recalled = history.count
        render(prompt, line, cursor)
        while let byte = readByte() {
            switch byte {
            case 0x0D, 0x0A:
                render(prompt, line, line.count, hinted: false)
                write("\r\n")
                let text = String(decoding: line, as: UTF8.self)
                remember(text)
                return text
            case 0x03:  // Ctrl-C
                if line.isEmpty {
                    write("\r\n")
                    return nil
                }
                line.removeAll()
                cursor = 0
            case 0x04:  // Ctrl-D
                if line.isEmpty {
                    write("\r\n")
                    return nil
                }
            case 0x7F, 0x08:
                if cursor > 0 {
                    line.remove(at: cursor - 1)
                    cursor -= 1
                }
            case 0x01: cursor = 0
            case 0x05: cursor = line.count
            case 0x15:  // Ctrl-U
                line.removeAll()
                cursor = 0
            case 0x1B:
                guard readByte() == UInt8(ascii: "["), let key = readByte() else { break }
                switch key {
                case UInt8(ascii: "A"):
                    if recalled > 0 {
                        recalled -= 1
                        line = Array(history[recalled].utf8)
                        cursor = line.count
                    }
                case UInt8(ascii: "B"):
                    if recalled < history.count {
                        recalled += 1
                        line = recalled < history.count ? Array(history[recalled].utf8) : []
                        cursor = line.count
                    }
                case UInt8(ascii: "C"): cursor = min(line.count, cursor + 1)
                case UInt8(ascii: "D"): cursor = max(0, cursor - 1)
                case UInt8(ascii: "H"): cursor = 0
                case UInt8(ascii: "F"): cursor = line.count
                default: break
                }
            case 0x20...0x7E, 0x80...0xFF:
                line.insert(byte, at: cursor)
                cursor += 1
            default:
                break
            }
            render(prompt, line, cursor)
        }
        return nil
    }

    /// Redraws the line: the prompt, the text, the hint in a dim colour, then the cursor where it is.
    private func render(_ prompt: String, _ line: [UInt8], _ cursor: Int, hinted: Bool = true) {
        let text = String(decoding: line, as: UTF8.self)
        var out = "\r" + prompt + text
        // The hint is cut to the terminal's width: a line that wrapped could not be redrawn in place.
        let room = Self.columns() - prompt.count - text.count - 1
        if hinted, let hint = hint(text), room > 0 { out += "\u{1B}[90m" + String(hint.prefix(room)) + "\u{1B}[0m" }
        out += "\u{1B}[K\r"
        let column = prompt.count + String(decoding: line.prefix(cursor), as: UTF8.self).count
        if column > 0 { out += "\u{1B}[\(column)C" }
        write(out)
    }

    /// Adds `line` to the history and its file, unless it is empty or repeats the last one.
    private func remember(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty, history.last != line else { return }
        history.append(line)
        guard let historyFile else { return }
        if let handle = FileHandle(forWritingAtPath: historyFile) {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            handle.closeFile()
        } else {
            _ = FileManager.default.createFile(atPath: historyFile, contents: Data((line + "\n").utf8))
        }
    }

    /// The terminal's width in columns; 80 when it can't say.
    private static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    private func readByte() -> UInt8? {
        var byte: UInt8 = 0
        return Glibc.read(STDIN_FILENO, &byte, 1) == 1 ? byte : nil
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = Glibc.write(STDOUT_FILENO, &bytes, bytes.count)
    }
}

/// The syntax hints of the interactive prompt, from the server's own `COMMAND DOCS`, as
/// valkey-cli shows them: after a command's name, the arguments still to type.
struct CommandHints {
    /// Each command's argument syntax, by upper-cased name (`"SET"`, `"CLIENT KILL"`).
    let syntax: [String: [String]]

    /// Reads a `COMMAND DOCS` reply.
    init(docs: RESPValue?) {
        var syntax: [String: [String]] = [:]
        func fields(_ value: RESPValue) -> [(String, RESPValue)] {
            switch value {
            case .map(let pairs): return pairs.compactMap { pair in pair.key.stringValue.map { ($0, pair.value) } }
            case .array(let flat):
                return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
                    flat[index].stringValue.map { ($0, flat[index + 1]) }
                }
            default: return []
            }
        }
        func add(_ name: String, _ doc: RESPValue) {
            let entries = Dictionary(fields(doc), uniquingKeysWith: { first, _ in first })
            if case .array(let arguments)? = entries["arguments"] { syntax[name.uppercased()] = arguments.map(Self.render) }
            for (subcommand, subdoc) in entries["subcommands"].map(fields) ?? [] {
                add(subcommand.replacingOccurrences(of: "|", with: " "), subdoc)
            }
        }
        for (name, doc) in docs.map(fields) ?? [] { add(name, doc) }
        self.syntax = syntax
    }

    /// The syntax still to type after `line`, with a leading space; `nil` when there is none.
    func hint(for line: String) -> String? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = words.first else { return nil }
        var name = first.uppercased()
        var typed = words.count - 1
        if words.count > 1, syntax[name + " " + words[1].uppercased()] != nil {
            name += " " + words[1].uppercased()
            typed -= 1
        }
        guard let arguments = syntax[name], typed < arguments.count else { return nil }
        let rest = arguments.dropFirst(max(typed, 0)).joined(separator: " ")
        return (line.hasSuffix(" ") ? "" : " ") + rest
    }

    /// One argument as the docs describe it: `key`, `[NX|XX]`, `EX seconds`, `member [member ...]`.
    static func render(_ argument: RESPValue) -> String {
        var entries: [String: RESPValue] = [:]
        switch argument {
        case .map(let pairs): for pair in pairs { if let key = pair.key.stringValue { entries[key] = pair.value } }
        case .array(let flat):
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if let key = flat[index].stringValue { entries[key] = flat[index + 1] }
            }
        default: return "?"
        }
        let type = entries["type"]?.stringValue ?? ""
        let token = entries["token"]?.stringValue
        var flags: [String] = []
        if case .array(let values)? = entries["flags"] { flags = values.compactMap(\.stringValue) }
        if case .set(let values)? = entries["flags"] { flags = values.compactMap(\.stringValue) }
        var text: String
        switch type {
        case "pure-token": text = token ?? ""
        case "oneof":
            if case .array(let nested)? = entries["arguments"] { text = nested.map(render).joined(separator: "|") } else { text = "" }
        case "block":
            if case .array(let nested)? = entries["arguments"] { text = nested.map(render).joined(separator: " ") } else { text = "" }
            if let token { text = token + " " + text }
        default:
            text = entries["name"]?.stringValue ?? "arg"
            if let token { text = token + " " + text }
        }
        if flags.contains("multiple") { text += " [\(text) ...]" }
        return flags.contains("optional") ? "[\(text)]" : text
    }
}
