import GlideBuffers
public import GlideRESPCodec

extension Router {
    /// Puts the replies of a split command back in the caller's key order: `replies[i]` answers
    /// `split.parts[i]` with an array of one element per key. The result is one array token built
    /// from the elements' own bytes, no value tree in between. The first error reply among the
    /// parts is the answer.
    public static func reassemble(_ replies: [RESPToken], of split: SlotSplit) throws(AggregationError) -> RESPToken {
        if let error = replies.first(where: { $0.type.isError }) { return error }
        guard replies.count == split.parts.count else {
            throw AggregationError("\(replies.count) replies for a command split in \(split.parts.count) parts")
        }
        // Where each key's element lies: which reply, and its byte range there.
        var found = [(reply: Int32, start: Int32, end: Int32)](repeating: (-1, 0, 0), count: split.keyCount)
        var size = 0
        for (index, (reply, part)) in zip(replies, split.parts).enumerated() {
            // One walk over the reply's elements, its count checked after it (reading the count
            // first would cost a second pass over the header and attributes).
            var position = part.keys.lowerBound
            let count = reply.forEachElementRange { range, _ in
                guard position < part.keys.upperBound else { return }
                found[split.positions[position]] = (Int32(index), Int32(range.lowerBound), Int32(range.upperBound))
                size += range.count
                position += 1
            }
            guard count == part.keys.count else {
                throw AggregationError("a split command's part replied \(reply) for \(part.keys.count) keys")
            }
        }
        var bytes = Bytes(capacity: size + 24)
        bytes.writeByte(UInt8(ascii: "*"))
        bytes.writeDecimal(split.keyCount)
        bytes.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        for element in found {
            guard element.reply >= 0 else { throw AggregationError("a split command's key got no reply") }
            replies[Int(element.reply)].bytes.withUnsafeReadableBytes { raw in
                bytes.writeBytes(UnsafeRawBufferPointer(rebasing: raw[Int(element.start)..<Int(element.end)]))
            }
        }
        return try validated(bytes)
    }

    /// Combines replies by `aggregation` straight from their tokens, for the policies that need
    /// no value tree: `sum`, `allSucceeded`, `oneSucceeded`. `nil` for the others, which
    /// `aggregate(_:by:)` combines as values. Error replies count as `aggregate(_:by:)` says.
    public static func aggregate(tokens replies: [RESPToken], by aggregation: ResponseAggregation) throws(AggregationError) -> RESPToken? {
        guard let first = replies.first else { throw AggregationError("no replies to combine") }
        switch aggregation {
        case .oneSucceeded:
            return replies.first { !$0.type.isError } ?? replies[replies.count - 1]
        case .allSucceeded:
            return replies.first { $0.type.isError } ?? first
        case .sum:
            if let error = replies.first(where: { $0.type.isError }) { return error }
            var total = 0
            for reply in replies {
                guard let value = reply.integerValue else { throw AggregationError("expected integers to combine, got \(reply)") }
                total &+= value
            }
            var bytes = Bytes(capacity: 24)
            bytes.writeByte(UInt8(ascii: ":"))
            bytes.writeDecimal(total)
            bytes.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
            return try validated(bytes)
        default:
            return nil
        }
    }

    private static func validated(_ bytes: Bytes) throws(AggregationError) -> RESPToken {
        do {
            return try RESPToken(validating: bytes)
        } catch {
            throw AggregationError("a combined reply did not encode: \(error)")
        }
    }
}
