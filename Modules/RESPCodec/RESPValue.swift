/// A RESP2 or RESP3 value as a tree: what `customCommand` returns.
///
/// Strings are `Bytes` slices of the receive buffer, so building a value copies no payload.
public enum RESPValue: Sendable, Hashable {
    /// A simple string, such as `OK`.
    case simpleString(Bytes)
    /// An error line, such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case simpleError(Bytes)
    /// A signed 64-bit integer.
    case integer(Int)
    /// A binary-safe string.
    case bulkString(Bytes)
    /// A null: RESP3 `_`, or RESP2's null bulk string and null array.
    case null
    /// An array.
    case array([RESPValue])
    /// A RESP3 boolean.
    case boolean(Bool)
    /// A RESP3 double.
    case double(Double)
    /// A RESP3 big number, as its decimal digits.
    case bigNumber(Bytes)
    /// A RESP3 bulk error.
    case bulkError(Bytes)
    /// A RESP3 verbatim string with its three-letter format, such as `txt`.
    case verbatimString(format: String, text: Bytes)
    /// A RESP3 map, in the order the server sent it.
    case map([RESPPair])
    /// A RESP3 set, in the order the server sent it.
    case set([RESPValue])
    /// A RESP3 out-of-band message.
    case push([RESPValue])
    /// A value preceded by RESP3 attributes.
    indirect case attributed(RESPValue, attributes: [RESPPair])

    /// Builds the tree of a validated token.
    public init(_ token: RESPToken) {
        self = token.bytes.withUnsafeReadableBytes { raw in
            Self.build(Frame(bytes: raw), at: 0, in: token.bytes).value
        }
    }

    static func build(_ frame: Frame, at offset: Int, in bytes: Bytes) -> (value: RESPValue, end: Int) {
        let type = RESPType(rawValue: frame.bytes[offset])!
        func line() -> (Bytes, Int) {
            let end = frame.lineEnd(at: offset)
            return (bytes.getSlice(at: offset + 1, length: end - offset - 1)!, end + 2)
        }
        func elements(_ count: Int, from start: Int) -> ([RESPValue], Int) {
            var values: [RESPValue] = []
            values.reserveCapacity(count)
            var position = start
            for _ in 0..<count {
                let (value, next) = build(frame, at: position, in: bytes)
                values.append(value)
                position = next
            }
            return (values, position)
        }
        func pairs(_ count: Int, from start: Int) -> ([RESPPair], Int) {
            let (flat, end) = elements(count * 2, from: start)
            return (stride(from: 0, to: flat.count, by: 2).map { RESPPair(key: flat[$0], value: flat[$0 + 1]) }, end)
        }
        switch type {
        case .simpleString:
            let (text, end) = line()
            return (.simpleString(text), end)
        case .simpleError:
            let (text, end) = line()
            return (.simpleError(text), end)
        case .integer:
            let end = frame.lineEnd(at: offset)
            return (.integer(ASCII.parseInt(frame.bytes, from: offset + 1, to: end)!), end + 2)
        case .null:
            return (.null, offset + 3)
        case .boolean:
            return (.boolean(frame.bytes[offset + 1] == 0x74), offset + 4)
        case .double:
            let (text, end) = line()
            return (.double(Double(text.string) ?? .nan), end)
        case .bigNumber:
            let (text, end) = line()
            return (.bigNumber(text), end)
        case .bulkString, .bulkError, .verbatimString:
            let (length, next) = frame.header(at: offset)
            if length < 0 { return (.null, next) }
            let payload = bytes.getSlice(at: next, length: length)!
            let end = next + length + 2
            switch type {
            case .bulkString: return (.bulkString(payload), end)
            case .bulkError: return (.bulkError(payload), end)
            default:
                return (
                    .verbatimString(
                        format: payload.getSlice(at: 0, length: 3)!.string,
                        text: payload.getSlice(at: 4, length: length - 4)!), end
                )
            }
        case .array, .set, .push:
            let (count, next) = frame.header(at: offset)
            if count < 0 { return (.null, next) }
            let (values, end) = elements(count, from: next)
            switch type {
            case .array: return (.array(values), end)
            case .set: return (.set(values), end)
            default: return (.push(values), end)
            }
        case .map:
            let (count, next) = frame.header(at: offset)
            let (entries, end) = pairs(count, from: next)
            return (.map(entries), end)
        case .attribute:
            let (count, next) = frame.header(at: offset)
            let (entries, valueStart) = pairs(count, from: next)
            let (value, end) = build(frame, at: valueStart, in: bytes)
            return (.attributed(value, attributes: entries), end)
        }
    }
}

/// A key and its value in a RESP3 map or attribute.
public struct RESPPair: Sendable, Hashable {
    /// The key.
    public var key: RESPValue
    /// The value.
    public var value: RESPValue

    /// A pair of `key` and `value`.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The text of a string-like value: simple and bulk strings, verbatim text, errors, big numbers.
    public var stringValue: String? {
        switch self {
        case .simpleString(let b), .bulkString(let b), .simpleError(let b), .bulkError(let b),
            .bigNumber(let b), .verbatimString(_, let b):
            return b.string
        case .double(let d): return String(d)
        case .integer(let i): return String(i)
        case .attributed(let value, _): return value.stringValue
        default: return nil
        }
    }

    /// The bytes of a string-like value.
    public var bytesValue: Bytes? {
        switch self {
        case .simpleString(let b), .bulkString(let b), .simpleError(let b), .bulkError(let b),
            .bigNumber(let b), .verbatimString(_, let b):
            return b
        case .attributed(let value, _): return value.bytesValue
        default: return nil
        }
    }

    /// The value of an integer.
    public var intValue: Int? {
        switch self {
        case .integer(let i): return i
        case .attributed(let value, _): return value.intValue
        default: return nil
        }
    }

    /// The elements of an array, set or push message.
    public var arrayValue: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): return a
        case .attributed(let value, _): return value.arrayValue
        default: return nil
        }
    }

    /// Whether this is a null.
    public var isNull: Bool {
        switch self {
        case .null: true
        case .attributed(let value, _): value.isNull
        default: false
        }
    }

    /// Whether this is an error sent by the server.
    public var isError: Bool {
        switch self {
        case .simpleError, .bulkError: true
        case .attributed(let value, _): value.isError
        default: false
        }
    }
}
