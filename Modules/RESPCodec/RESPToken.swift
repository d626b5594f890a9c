/// One complete, validated RESP value: a slice of the buffer it was received in.
///
/// A token costs nothing to make beyond the decoder's validation pass. Its payload and its elements
/// are read on demand, as further slices of the same bytes; `RESPValue(token)` builds a tree.
public struct RESPToken: Sendable, Hashable {
    /// The whole frame, type byte to final `\r\n`.
    public let bytes: Bytes

    /// Wraps bytes the decoder has validated as exactly one frame.
    @usableFromInline
    init(validated bytes: Bytes) {
        self.bytes = bytes
    }

    /// Validates `bytes` as exactly one RESP frame.
    public init(validating bytes: Bytes) throws(RESPDecodeError) {
        var decoder = RESPDecoder()
        var input = bytes
        guard let token = try decoder.decode(from: &input) else {
            throw RESPDecodeError(.missingCRLF, at: bytes.readableBytes)
        }
        guard input.readableBytes == 0 else {
            throw RESPDecodeError(.invalidLength, at: token.bytes.readableBytes)
        }
        self = token
    }

    /// The frame's type. Attributes are a type of their own: see `unwrappingAttributes`.
    @inlinable
    public var type: RESPType {
        RESPType(rawValue: bytes.withUnsafeReadableBytes { $0[0] })!
    }

    /// The value itself when the frame starts with RESP3 attributes, otherwise the frame.
    public var unwrappingAttributes: RESPToken {
        var token = self
        while token.type == .attribute {
            let value = token.withFrame { frame in
                let (count, next) = frame.header(at: 0)
                var at = next
                for _ in 0..<(count * 2) { at = frame.elementEnd(at: at) }
                return at
            }
            token = RESPToken(validated: token.bytes.getSlice(at: value, length: token.bytes.readableBytes - value)!)
        }
        return token
    }

    /// The attributes preceding the value, if the frame has any.
    public var attributes: [(key: RESPToken, value: RESPToken)]? {
        guard type == .attribute else { return nil }
        let entries = Elements(token: self)
        var pairs: [(key: RESPToken, value: RESPToken)] = []
        var iterator = entries.makeIterator()
        while let key = iterator.next(), let value = iterator.next() { pairs.append((key, value)) }
        return pairs
    }

    /// Whether this is a null: RESP3 `_`, or RESP2's `$-1` and `*-1`.
    public var isNull: Bool {
        let token = unwrappingAttributes
        switch token.type {
        case .null: return true
        case .bulkString, .array: return token.withFrame { $0.bytes[1] == ASCII.minus }
        default: return false
        }
    }

    /// The text of a string-like value as a slice: simple strings and errors, bulk strings and
    /// errors, verbatim strings (without their `xxx:` prefix), doubles and big numbers. `nil` for
    /// nulls, integers, booleans and aggregates.
    public var stringBytes: Bytes? { unwrappingAttributes.payloadBytes }

    /// `stringBytes` of a token whose attributes are already unwrapped: the conversions unwrap
    /// once, not once per accessor (each unwrap is a copy of the token, a retain and a release).
    var payloadBytes: Bytes? {
        let token = self
        let range: (start: Int, length: Int)? = token.withFrame { frame in
            switch token.type {
            case .simpleString, .simpleError, .double, .bigNumber:
                return (1, frame.lineEnd(at: 0) - 1)
            case .bulkString, .bulkError:
                let (length, next) = frame.header(at: 0)
                return length < 0 ? nil : (next, length)
            case .verbatimString:
                let (length, next) = frame.header(at: 0)
                return (next + 4, length - 4)
            default:
                return nil
            }
        }
        guard let range else { return nil }
        return token.bytes.getSlice(at: range.start, length: range.length)
    }

    /// The value of an integer.
    public var integerValue: Int? { unwrappingAttributes.integerPayload }

    /// `integerValue` of a token whose attributes are already unwrapped.
    var integerPayload: Int? {
        guard type == .integer else { return nil }
        return withFrame { ASCII.parseInt($0.bytes, from: 1, to: $0.lineEnd(at: 0)) }
    }

    /// The value of a RESP3 boolean.
    public var booleanValue: Bool? { unwrappingAttributes.booleanPayload }

    /// `booleanValue` of a token whose attributes are already unwrapped.
    var booleanPayload: Bool? {
        guard type == .boolean else { return nil }
        return withFrame { $0.bytes[1] == 0x74 }
    }

    /// Whether a token whose attributes are already unwrapped is the simple string `OK`, in any
    /// case, read from the frame without making a slice.
    var isOK: Bool {
        type == .simpleString
            && withFrame { $0.lineEnd(at: 0) == 3 && $0.bytes[1] | 0x20 == 0x6F && $0.bytes[2] | 0x20 == 0x6B }
    }

    /// The value of a RESP3 double.
    public var doubleValue: Double? {
        let token = unwrappingAttributes
        guard token.type == .double, let text = token.stringBytes else { return nil }
        return Double(text.string)
    }

    /// The three-letter format of a verbatim string, such as `txt` or `mkd`.
    public var verbatimFormat: String? {
        let token = unwrappingAttributes
        guard token.type == .verbatimString else { return nil }
        let (_, next) = token.withFrame { $0.header(at: 0) }
        return token.bytes.getSlice(at: next, length: 3)!.string
    }

    /// The elements of an aggregate (for a map, its keys and values in turn), or `nil` when this
    /// is not an aggregate or is a RESP2 null array.
    public var elements: Elements? {
        let token = unwrappingAttributes
        guard token.type.isAggregate, !token.isNull else { return nil }
        return Elements(token: token)
    }

    /// For a server error: the first word of its message, such as `WRONGTYPE`, `MOVED` or `NOAUTH`.
    public var errorCode: String? {
        guard type.isError, let text = stringBytes else { return nil }
        let message = text.string
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    @inlinable
    func withFrame<Result>(_ body: (Frame) -> Result) -> Result {
        bytes.withUnsafeReadableBytes { body(Frame(bytes: $0)) }
    }
}

extension RESPToken {
    /// Calls `body` with the byte range, within `bytes`, of each element of an aggregate token, in
    /// order, and with the element's payload when it is a string (bulk, simple, or verbatim with
    /// its format prefix; `nil` otherwise, and for a null), valid during the call. Returns how many
    /// elements there were;
    /// `nil` for a token that is not an aggregate. No element token is made: for code that
    /// regroups or copies elements' frames (a split command's parts, their replies put back in
    /// key order).
    @discardableResult
    public func forEachElementRange(_ body: (_ frame: Range<Int>, _ payload: UnsafeRawBufferPointer?) -> Void) -> Int? {
        guard let elements else { return nil }
        return bytes.withUnsafeReadableBytes { raw -> Int in
            let frame = Frame(bytes: raw)
            var position = elements.firstElement
            for _ in 0..<elements.count {
                let end = frame.elementEnd(at: position)
                body(position..<end, frame.stringPayload(at: position, end: end))
                position = end
            }
            return elements.count
        }
    }
}

extension RESPToken {
    /// The elements of an aggregate token, each a token sharing the frame's bytes.
    public struct Elements: Sequence, Sendable {
        let token: RESPToken
        /// The number of elements: twice the entry count for a map.
        public let count: Int
        let firstElement: Int

        init(token: RESPToken) {
            self.token = token
            let (announced, next) = token.withFrame { $0.header(at: 0) }
            switch token.type {
            case .map, .attribute: self.count = announced * 2
            default: self.count = announced
            }
            self.firstElement = next
        }

        /// Iterates the elements in order.
        public struct Iterator: IteratorProtocol {
            let frame: Bytes
            var position: Int
            var left: Int

            /// The next element.
            public mutating func next() -> RESPToken? {
                guard left > 0 else { return nil }
                left -= 1
                let start = position
                position = frame.withUnsafeReadableBytes { Frame(bytes: $0).elementEnd(at: start) }
                return RESPToken(validated: frame.getSlice(at: start, length: position - start)!)
            }
        }

        /// An iterator over the elements.
        public func makeIterator() -> Iterator {
            Iterator(frame: token.bytes, position: firstElement, left: count)
        }

        /// The element count.
        public var underestimatedCount: Int { count }
    }
}

extension RESPToken: CustomStringConvertible, CustomDebugStringConvertible {
    /// The value in the style of `valkey-cli`.
    public var description: String { RESPValue(self).description }

    /// The raw frame with `\r\n` shown escaped.
    public var debugDescription: String { "RESPToken(\(bytes.description))" }
}

/// Read-only navigation inside a frame the decoder already validated, so nothing here can fail.
@usableFromInline
struct Frame {
    let bytes: UnsafeRawBufferPointer

    @usableFromInline
    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The index of the `\r` ending the line that starts at `offset`.
    func lineEnd(at offset: Int) -> Int {
        ASCII.firstLineFeed(bytes, from: offset + 1, to: bytes.count)! - 1
    }

    /// The number in the header line at `offset`, and where the line's successor starts.
    func header(at offset: Int) -> (value: Int, next: Int) {
        let end = lineEnd(at: offset)
        return (ASCII.parseInt(bytes, from: offset + 1, to: end) ?? 0, end + 2)
    }

    /// The payload of the string element `offset..<end`; `nil` for another type or a null.
    func stringPayload(at offset: Int, end: Int) -> UnsafeRawBufferPointer? {
        switch RESPType(rawValue: bytes[offset]) {
        case .bulkString, .verbatimString:
            let (length, next) = header(at: offset)
            return length < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[next..<next + length])
        case .simpleString:
            return UnsafeRawBufferPointer(rebasing: bytes[offset + 1..<end - 2])
        default:
            return nil
        }
    }

    /// Where the element starting at `offset` ends.
    func elementEnd(at offset: Int) -> Int {
        var position = offset
        var pending = 1
        while pending > 0 {
            pending -= 1
            let type = RESPType(rawValue: bytes[position])!
            switch type {
            case .bulkString, .bulkError, .verbatimString:
                let (length, next) = header(at: position)
                position = length < 0 ? next : next + length + 2
            case .array, .set, .push:
                let (count, next) = header(at: position)
                if count > 0 { pending += count }
                position = next
            case .map:
                let (count, next) = header(at: position)
                pending += count * 2
                position = next
            case .attribute:
                let (count, next) = header(at: position)
                pending += count * 2 + 1
                position = next
            default:
                position = lineEnd(at: position) + 2
            }
        }
        return position
    }
}
