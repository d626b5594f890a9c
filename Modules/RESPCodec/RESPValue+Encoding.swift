extension RESPValue {
    /// Writes this value in RESP3 (nulls as `_`), or in RESP2 when `resp2` is set, where RESP3-only
    /// types become their RESP2 equivalents the way the server downgrades them.
    ///
    /// Clients send commands with `writeRESPCommand`; this is for servers, proxies and tests.
    public func encode(into buffer: inout Bytes, resp2: Bool = false) {
        func line(_ type: RESPType, _ text: Bytes) {
            buffer.writeByte(type.rawValue)
            buffer.writeBytes(text)
            buffer.writeBytes(0x0D, 0x0A)
        }
        func bulk(_ type: RESPType, _ payload: Bytes) {
            buffer.writeByte(type.rawValue)
            buffer.writeDecimal(payload.count)
            buffer.writeBytes(0x0D, 0x0A)
            buffer.writeBytes(payload)
            buffer.writeBytes(0x0D, 0x0A)
        }
        func aggregate(_ type: RESPType, _ count: Int) {
            buffer.writeByte(type.rawValue)
            buffer.writeDecimal(count)
            buffer.writeBytes(0x0D, 0x0A)
        }
        switch self {
        case .simpleString(let text): line(.simpleString, text)
        case .simpleError(let text): line(.simpleError, text)
        case .integer(let value):
            buffer.writeByte(RESPType.integer.rawValue)
            buffer.writeDecimal(value)
            buffer.writeBytes(0x0D, 0x0A)
        case .bulkString(let payload): bulk(.bulkString, payload)
        case .null: buffer.writeStaticString(resp2 ? "$-1\r\n" : "_\r\n")
        case .array(let values):
            aggregate(.array, values.count)
            for value in values { value.encode(into: &buffer, resp2: resp2) }
        case .boolean(let value):
            if resp2 {
                RESPValue.integer(value ? 1 : 0).encode(into: &buffer)
            } else {
                buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
            }
        case .double(let value):
            let text = value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(value)
            if resp2 { bulk(.bulkString, Bytes(text)) } else { line(.double, Bytes(text)) }
        case .bigNumber(let digits):
            if resp2 { bulk(.bulkString, digits) } else { line(.bigNumber, digits) }
        case .bulkError(let payload):
            if resp2 { line(.simpleError, payload) } else { bulk(.bulkError, payload) }
        case .verbatimString(let format, let text):
            if resp2 {
                bulk(.bulkString, text)
            } else {
                var payload = Bytes(format)
                payload.writeByte(0x3A)
                payload.writeBytes(text)
                bulk(.verbatimString, payload)
            }
        case .map(let pairs):
            if resp2 { aggregate(.array, pairs.count * 2) } else { aggregate(.map, pairs.count) }
            for pair in pairs {
                pair.key.encode(into: &buffer, resp2: resp2)
                pair.value.encode(into: &buffer, resp2: resp2)
            }
        case .set(let values):
            aggregate(resp2 ? .array : .set, values.count)
            for value in values { value.encode(into: &buffer, resp2: resp2) }
        case .push(let values):
            aggregate(resp2 ? .array : .push, values.count)
            for value in values { value.encode(into: &buffer, resp2: resp2) }
        case .attributed(let value, let attributes):
            if !resp2 {
                aggregate(.attribute, attributes.count)
                for pair in attributes {
                    pair.key.encode(into: &buffer)
                    pair.value.encode(into: &buffer)
                }
            }
            value.encode(into: &buffer, resp2: resp2)
        }
    }

    /// The encoded bytes of this value.
    public func encoded(resp2: Bool = false) -> Bytes {
        var buffer = Bytes()
        encode(into: &buffer, resp2: resp2)
        return buffer
    }
}

extension RESPValue: CustomStringConvertible {
    /// The value printed the way `valkey-cli` prints replies.
    public var description: String {
        var lines: [String] = []
        render(into: &lines, indent: "")
        return lines.joined(separator: "\n")
    }

    private func render(into lines: inout [String], indent: String) {
        func quoted(_ bytes: Bytes) -> String { "\"" + bytes.description + "\"" }
        func list(_ values: [RESPValue], prefix: String = "") {
            if values.isEmpty {
                lines.append(indent + prefix + "(empty array)")
                return
            }
            let width = String(values.count).count
            for (index, value) in values.enumerated() {
                let number = String(index + 1)
                let label = String(repeating: " ", count: width - number.count) + number + ") "
                var nested: [String] = []
                value.render(into: &nested, indent: "")
                let pad = String(repeating: " ", count: label.count)
                for (lineIndex, text) in nested.enumerated() {
                    lines.append(indent + (lineIndex == 0 ? label : pad) + text)
                }
            }
        }
        switch self {
        case .simpleString(let text): lines.append(indent + text.description)
        case .simpleError(let text), .bulkError(let text): lines.append(indent + "(error) " + text.description)
        case .integer(let value): lines.append(indent + "(integer) \(value)")
        case .bulkString(let payload): lines.append(indent + quoted(payload))
        case .null: lines.append(indent + "(nil)")
        case .boolean(let value): lines.append(indent + "(\(value))")
        case .double(let value): lines.append(indent + "(double) \(value)")
        case .bigNumber(let digits): lines.append(indent + "(big number) " + digits.description)
        case .verbatimString(_, let text):
            lines.append(contentsOf: text.string.split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 })
        case .array(let values), .set(let values), .push(let values): list(values)
        case .map(let pairs):
            if pairs.isEmpty { lines.append(indent + "(empty hash)") }
            list(pairs.flatMap { [$0.key, $0.value] })
        case .attributed(let value, _): value.render(into: &lines, indent: indent)
        }
    }
}
