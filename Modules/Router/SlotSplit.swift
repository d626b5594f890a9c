public import GlideBuffers
public import GlideCommands
public import GlideRESPCodec
import GlideTopology

/// A multi-key command split by the slots of its keys: every part encoded once, back to back in
/// one buffer, with the positions of its keys among the original command's.
///
/// Built from the command's own encoding, so nothing is parsed into arguments and encoded again:
/// the parts are the original argument frames, regrouped behind a new header.
public struct SlotSplit: Sendable {
    /// One slot's part.
    public struct Part: Sendable, Hashable {
        /// The slot every key of the part hashes to.
        public var slot: UInt16
        /// The part's encoding, within `encoded`.
        public var bytes: Range<Int>
        /// The part's keys, as a range of `positions`.
        public var keys: Range<Int>
    }

    /// Every part's encoding, back to back.
    public var encoded: Bytes
    /// The parts, in slot order.
    public var parts: [Part]
    /// For each part's keys in turn, their positions among the original command's keys.
    public var positions: [Int]
    /// The number of keys of the original command.
    public var keyCount: Int

    /// The encoding of `part`: a slice of `encoded`, no copy.
    public func command(_ part: Part) -> Bytes {
        encoded.getSlice(at: part.bytes.lowerBound, length: part.bytes.count)!
    }

    /// The positions of `part`'s keys among the original command's keys.
    public func keyPositions(_ part: Part) -> ArraySlice<Int> {
        positions[part.keys]
    }
}

extension Router {
    /// Splits an encoded multi-key command by the slots of its keys.
    ///
    /// Commands split this way take keys (and, for `MSET`, their values) from the first argument
    /// to the last: `MGET`, `DEL`, `EXISTS`, `UNLINK`, `TOUCH`, `WATCH`, `MSET`. `nil` for a
    /// command of another shape (`MSETEX`, with its key count and options) or a malformed
    /// encoding: it then goes whole to its first key's slot, and the server's `CROSSSLOT` reply
    /// says why.
    ///
    /// Five allocations whatever the key count (the groups, their order, the buffer, the parts,
    /// the positions), plus the sort's scratch space: the frames are copied once, into their part.
    public static func splitBySlot(_ command: RESPCommandBuffer, metadata: CommandMetadata) -> SlotSplit? {
        guard let step = splittableStep(metadata) else { return nil }
        let source = command.contiguousBytes  // the buffer itself unless a large value was referenced
        // The codec validates the frame and walks its elements; nothing here parses RESP.
        guard let command = try? RESPToken(validating: source), command.type == .array,
            let count = command.elements?.count, count > 1, (count - 1) % step == 0
        else { return nil }
        // Each key's group of frames (the key, then `step - 1` values): its slot and byte range.
        var groups: [(slot: UInt16, start: Int, end: Int)] = []
        groups.reserveCapacity((count - 1) / step)
        var name: Range<Int> = 0..<0
        var element = 0
        var groupStart = 0
        var keySlot: UInt16 = 0
        var keysAreStrings = true
        command.forEachElementRange { frame, payload in
            defer { element += 1 }
            guard element > 0 else {
                name = frame
                return
            }
            let member = (element - 1) % step
            if member == 0 {
                groupStart = frame.lowerBound
                // The key is hashed in place, in the validated frame.
                guard let payload else {
                    keysAreStrings = false
                    return
                }
                keySlot = HashSlot.slot(of: payload)
            }
            if member == step - 1 { groups.append((keySlot, groupStart, frame.upperBound)) }
        }
        guard keysAreStrings else { return nil }
        let nameFrame = source.getSlice(at: name.lowerBound, length: name.count)!
        // Groups ordered by slot, keeping the keys' order within a slot.
        let order = groups.indices.sorted { (groups[$0].slot, $0) < (groups[$1].slot, $1) }
        var encoded = Bytes(capacity: source.readableBytes + groups.count * (name.count + 16))
        var parts: [SlotSplit.Part] = []
        parts.reserveCapacity(groups.count)
        var positions: [Int] = []
        positions.reserveCapacity(groups.count)
        var index = 0
        while index < order.count {
            let slot = groups[order[index]].slot
            var end = index
            while end < order.count && groups[order[end]].slot == slot { end += 1 }
            let start = encoded.readableBytes
            encoded.writeByte(UInt8(ascii: "*"))
            encoded.writeDecimal(1 + (end - index) * step)
            encoded.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
            encoded.writeBytes(nameFrame)
            let firstKey = positions.count
            for group in order[index..<end] {
                encoded.writeBytes(source.getSlice(at: groups[group].start, length: groups[group].end - groups[group].start)!)
                positions.append(group)
            }
            parts.append(SlotSplit.Part(slot: slot, bytes: start..<encoded.readableBytes, keys: firstKey..<positions.count))
            index = end
        }
        return SlotSplit(encoded: encoded, parts: parts, positions: positions, keyCount: groups.count)
    }

    /// The number of arguments per key when the command's keys run from the first argument to
    /// the last, one every `step`; `nil` for any other shape.
    static func splittableStep(_ metadata: CommandMetadata) -> Int? {
        guard metadata.keySpecs.count == 1, case .index(1) = metadata.keySpecs[0].beginSearch,
            case .range(let lastKey, let keyStep, _) = metadata.keySpecs[0].findKeys, lastKey == -1, keyStep >= 1
        else { return nil }
        return keyStep
    }
}
