public import GlideBuffers

/// One line of `MONITOR`: a command the server ran, who sent it, and when.
///
/// The server writes each as `1700000000.123456 [0 127.0.0.1:52000] "SET" "key" "value"`, with
/// every argument quoted and escaped (`\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\xHH`); this is
/// that line read back.
public struct MonitorLine: Sendable, Hashable, CustomStringConvertible {
    /// When the server ran the command, in seconds since the Unix epoch (to the microsecond).
    public let timestamp: Double
    /// The database it ran in.
    public let database: Int
    /// Who sent it: `host:port`, `[ipv6]:port`, `unix:path`, or `lua` for a script's call.
    public let client: String
    /// The command's name and its arguments, as sent.
    public let arguments: [Bytes]

    /// The command's name in upper case (`SET`), or empty for a line without one.
    public var command: String { arguments.first.map { $0.string.uppercased() } ?? "" }

    /// The line as the server writes it: each argument quoted, and escaped where it must be.
    public var description: String {
        "\(timestamp) [\(database) \(client)] " + arguments.map(\.quoted).joined(separator: " ")
    }

    /// A line made of its parts.
    public init(timestamp: Double, database: Int, client: String, arguments: [Bytes]) {
        self.timestamp = timestamp
        self.database = database
        self.client = client
        self.arguments = arguments
    }

    /// Reads a line as the server writes it; `nil` for anything else (the `OK` that answers
    /// `MONITOR` itself, or a malformed line).
    public init?(parsing line: Bytes) {
        let bytes = line.array
        // The header ends where the first argument's quote begins: neither the timestamp nor the
        // client's address holds a quote.
        let quote = bytes.firstIndex(of: UInt8(ascii: "\"")) ?? bytes.endIndex
        var header = bytes[..<quote]
        while header.last == UInt8(ascii: " ") { header.removeLast() }
        guard let space = header.firstIndex(of: UInt8(ascii: " ")), header.endIndex - space >= 3,
            let timestamp = Double(String(decoding: header[..<space], as: UTF8.self)),
            header[space + 1] == UInt8(ascii: "["), header.last == UInt8(ascii: "]")
        else { return nil }
        let inside = header[(space + 2)..<(header.endIndex - 1)]
        guard let gap = inside.firstIndex(of: UInt8(ascii: " ")),
            let database = Int(String(decoding: inside[..<gap], as: UTF8.self))
        else { return nil }
        guard let arguments = Self.arguments(bytes[quote...]) else { return nil }
        self.init(
            timestamp: timestamp, database: database, client: String(decoding: inside[(gap + 1)...], as: UTF8.self),
            arguments: arguments)
    }

    /// The quoted arguments, unescaped; `nil` when they are not well formed.
    static func arguments(_ text: ArraySlice<UInt8>) -> [Bytes]? {
        var arguments: [Bytes] = []
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == UInt8(ascii: " ") {
                index += 1
                continue
            }
            guard text[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var argument: [UInt8] = []
            var closed = false
            while index < text.endIndex {
                let byte = text[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    closed = true
                    break
                }
                guard byte == UInt8(ascii: "\\") else {
                    argument.append(byte)
                    continue
                }
                guard index < text.endIndex else { return nil }
                let escaped = text[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): argument.append(10)
                case UInt8(ascii: "r"): argument.append(13)
                case UInt8(ascii: "t"): argument.append(9)
                case UInt8(ascii: "a"): argument.append(7)
                case UInt8(ascii: "b"): argument.append(8)
                case UInt8(ascii: "x"):
                    guard index + 1 < text.endIndex,
                        let value = UInt8(String(decoding: text[index...(index + 1)], as: UTF8.self), radix: 16)
                    else { return nil }
                    argument.append(value)
                    index += 2
                default: argument.append(escaped)  // \" and \\
                }
            }
            guard closed else { return nil }
            arguments.append(Bytes(argument))
        }
        return arguments.isEmpty ? nil : arguments
    }
}
