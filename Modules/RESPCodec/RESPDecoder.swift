/// Finds complete RESP2 and RESP3 frames at the front of a byte buffer.
///
/// The decoder validates each frame once, as bytes arrive, and hands it out as a `RESPToken`: a
/// slice of the buffer, not a copy. When a frame is split across reads it remembers how far it got
/// (the validated prefix, the open aggregates, the bulk payload it waits for), so the next call
/// continues there instead of scanning the frame again from its first byte.
///
/// Lengths are parsed with overflow checks and capped, nesting is capped, and anything malformed
/// throws a typed `RESPDecodeError`.
public struct RESPDecoder: Sendable {
    /// The deepest nesting of aggregates accepted.
    public let maximumDepth: Int
    /// The longest bulk string accepted; also caps the length of a simple line.
    public let maximumBulkLength: Int
    /// The most elements one aggregate may announce.
    public let maximumAggregateLength: Int
    /// The most bytes one whole frame (a reply with everything nested in it) may take.
    public let maximumFrameLength: Int

    /// The server's own `proto-max-bulk-len`, 512 MiB: the default for a bulk string.
    public static let defaultMaximumLength = 512 * 1024 * 1024

    /// The default for a whole frame: a bulk string of the server's largest size with its header
    /// (`$536870912\r\n`) and its `\r\n`, so the largest value a server can hold still reads.
    public static let defaultMaximumFrameLength = defaultMaximumLength + 32

    // Scan state of the frame starting at the buffer's reader index.
    /// Length of the frame's prefix already validated.
    var offset = 0
    /// Where to resume looking for the `\n` that ends an incomplete header line.
    var lineSearchFrom = 0
    /// While waiting for a bulk payload: where its `\r\n` must be; otherwise -1.
    var payloadEnd = -1
    /// Where the awaited payload starts (verbatim strings are checked for their `xxx:` prefix).
    var payloadStart = 0
    /// Type byte of the awaited payload.
    var payloadType: UInt8 = 0
    /// For each open aggregate, from the outermost in: the elements still to come.
    var remaining: [Int] = []

    /// A decoder with the given limits. The defaults match the server's own: 512 MiB for a bulk
    /// string, and for a whole frame that much plus a header; a nesting depth no real reply comes
    /// near.
    public init(
        maximumDepth: Int = 100,
        maximumBulkLength: Int = defaultMaximumLength,
        maximumAggregateLength: Int = Int(Int32.max),
        maximumFrameLength: Int = defaultMaximumFrameLength
    ) {
        precondition(maximumDepth > 0 && maximumBulkLength >= 0 && maximumAggregateLength >= 0 && maximumFrameLength > 0)
        self.maximumDepth = maximumDepth
        self.maximumBulkLength = maximumBulkLength
        self.maximumAggregateLength = maximumAggregateLength
        self.maximumFrameLength = maximumFrameLength
        self.remaining.reserveCapacity(8)
    }

    /// How many more bytes the frame in progress is known to need, given `buffer`; zero when
    /// unknown. A reader uses it to make room for a large payload in one allocation.
    public func bytesStillNeeded(in buffer: Bytes) -> Int {
        payloadEnd < 0 ? 0 : Swift.max(0, payloadEnd &+ 2 &- buffer.readableBytes)
    }

    /// Forgets any partly scanned frame. Call it when the byte stream starts over (a new connection).
    public mutating func reset() {
        offset = 0
        lineSearchFrom = 0
        payloadEnd = -1
        remaining.removeAll(keepingCapacity: true)
    }

    /// Removes the first complete frame from `buffer` and returns it, or returns `nil` when the
    /// frame is not complete yet; then call again with the same buffer once more bytes have been
    /// appended to it.
    ///
    /// Don't move the buffer's reader index between calls: the scan state is relative to it.
    public mutating func decode(from buffer: inout Bytes) throws(RESPDecodeError) -> RESPToken? {
        let frameLength = try buffer.withUnsafeReadableBytes { bytes throws(RESPDecodeError) in try scan(bytes) }
        guard let frameLength else { return nil }
        return RESPToken(validated: buffer.readSlice(length: frameLength)!)
    }

    /// Continues validating the frame at the start of `bytes`; returns its length once complete.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(RESPDecodeError) -> Int? {
        let available = bytes.count
        while true {
            if payloadEnd >= 0 {
                guard available >= payloadEnd &+ 2 else { return nil }
                guard bytes[payloadEnd] == ASCII.cr, bytes[payloadEnd &+ 1] == ASCII.lf else {
                    throw RESPDecodeError(.missingCRLF, at: payloadEnd)
                }
                if payloadType == RESPType.verbatimString.rawValue && bytes[payloadStart &+ 3] != 0x3A {
                    throw RESPDecodeError(.invalidVerbatimString, at: payloadStart)
                }
                offset = payloadEnd &+ 2
                payloadEnd = -1
                if elementCompleted() { return frameCompleted() }
                continue
            }

            guard offset < available else { return nil }
            let typeByte = bytes[offset]
            guard let type = RESPType(rawValue: typeByte) else {
                throw RESPDecodeError(.invalidTypeByte(typeByte), at: offset)
            }
            guard let lineFeed = ASCII.firstLineFeed(bytes, from: Swift.max(offset &+ 1, lineSearchFrom), to: available)
            else {
                lineSearchFrom = available
                try checkIncompleteLine(type: type, length: available &- offset)
                return nil
            }
            lineSearchFrom = 0
            guard lineFeed >= offset &+ 2, bytes[lineFeed &- 1] == ASCII.cr else {
                throw RESPDecodeError(.missingCRLF, at: lineFeed)
            }
            let start = offset &+ 1
            let end = lineFeed &- 1
            let next = lineFeed &+ 1
            guard next <= maximumFrameLength else { throw frameTooLong() }

            switch type {
            case .simpleString, .simpleError:
                break
            case .integer:
                guard Self.headerNumber(bytes, from: start, to: end) != nil else {
                    throw RESPDecodeError(.invalidInteger, at: offset)
                }
            case .null:
                guard start == end else { throw RESPDecodeError(.invalidNull, at: offset) }
            case .boolean:
                guard end == start &+ 1, bytes[start] == 0x74 || bytes[start] == 0x66 else {  // t, f
                    throw RESPDecodeError(.invalidBoolean, at: offset)
                }
            case .double:
                guard ASCII.isDouble(bytes, from: start, to: end) else {
                    throw RESPDecodeError(.invalidDouble, at: offset)
                }
            case .bigNumber:
                guard ASCII.isBigNumber(bytes, from: start, to: end) else {
                    throw RESPDecodeError(.invalidBigNumber, at: offset)
                }
            case .bulkString, .bulkError, .verbatimString:
                guard let length = Self.headerNumber(bytes, from: start, to: end) else {
                    throw RESPDecodeError(.invalidLength, at: offset)
                }
                if length == -1 && type == .bulkString { break }  // RESP2 null bulk string
                guard length >= 0 else { throw RESPDecodeError(.invalidLength, at: offset) }
                guard length <= maximumBulkLength else { throw RESPDecodeError(.lengthTooLarge, at: offset) }
                if type == .verbatimString && length < 4 {
                    throw RESPDecodeError(.invalidVerbatimString, at: offset)
                }
                // Refused on its claim, before any of its bytes are waited for.
                guard length <= maximumFrameLength &- 2 &- next else { throw frameTooLong() }
                offset = next
                payloadStart = next
                payloadEnd = next &+ length
                payloadType = typeByte
                continue
            case .array, .set, .push, .map, .attribute:
                guard let count = Self.headerNumber(bytes, from: start, to: end) else {
                    throw RESPDecodeError(.invalidLength, at: offset)
                }
                if count == -1 && type == .array { break }  // RESP2 null array
                guard count >= 0 else { throw RESPDecodeError(.invalidLength, at: offset) }
                guard count <= maximumAggregateLength else { throw RESPDecodeError(.lengthTooLarge, at: offset) }
                // A map holds a key and a value per entry; attributes also own the value they
                // precede, so even an empty attribute is followed by one element.
                let elements = type == .map ? count &* 2 : type == .attribute ? count &* 2 &+ 1 : count
                if elements > 0 {
                    guard remaining.count < maximumDepth else {
                        throw RESPDecodeError(.nestingTooDeep(limit: maximumDepth), at: offset)
                    }
                    remaining.append(elements)
                    offset = next
                    continue
                }
            }
            offset = next
            if elementCompleted() { return frameCompleted() }
        }
    }

    /// The number of a length or integer line: a sign and at most nineteen digits, the widest
    /// `Int`, as `checkIncompleteLine` holds a line still arriving to. Wider (leading zeros) is
    /// refused however the bytes arrived, so the outcome never depends on how the reads split.
    static func headerNumber(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        end &- start <= 20 ? ASCII.parseInt(bytes, from: start, to: end) : nil
    }

    /// Rejects a header line that has grown past any valid length without its `\r\n`.
    func checkIncompleteLine(type: RESPType, length: Int) throws(RESPDecodeError) {
        switch type {
        case .bulkString, .bulkError, .verbatimString, .array, .set, .push, .map, .attribute, .integer,
            .null, .boolean:
            // A type byte, a sign, nineteen digits and `\r`.
            if length > 22 { throw RESPDecodeError(.invalidLength, at: offset) }
        case .simpleString, .simpleError, .double, .bigNumber:
            if length > maximumBulkLength { throw RESPDecodeError(.lengthTooLarge, at: offset) }
            if offset &+ length > maximumFrameLength { throw frameTooLong() }
        }
    }

    func frameTooLong() -> RESPDecodeError {
        RESPDecodeError(.frameTooLong(limit: maximumFrameLength), at: offset)
    }

    /// Counts one finished element against the open aggregates; true when the whole frame is done.
    mutating func elementCompleted() -> Bool {
        while let last = remaining.last {
            if last > 1 {
                remaining[remaining.count &- 1] = last &- 1
                return false
            }
            remaining.removeLast()
        }
        return true
    }

    mutating func frameCompleted() -> Int {
        let length = offset
        offset = 0
        lineSearchFrom = 0
        return length
    }
}
