public import GlideBuffers
public import GlideCommands
import GlideTopology

/// One slot's part of a split multi-key command.
public struct SlotBatch: Sendable, Hashable {
    /// The slot every key of the part hashes to.
    public var slot: UInt16
    /// The part as a command of its own: the command's name, then the keys of this slot with the
    /// arguments that go with each (`MSET`'s values).
    public var arguments: [Bytes]
    /// For each key of the part, its position among the original command's keys, so replies
    /// are put back in the caller's order.
    public var keyPositions: [Int]
}

extension Router {
    /// Splits a multi-key command by the slots of its keys, keeping each key's position.
    ///
    /// Commands split this way take keys (and, for `MSET`, their values) from the first argument
    /// to the last: `MGET`, `DEL`, `EXISTS`, `UNLINK`, `TOUCH`, `WATCH`, `MSET`. `nil` for a
    /// command of another shape (`MSETEX`, with its key count and options), which then goes
    /// whole to its first key's slot, and the server's `CROSSSLOT` reply says why.
    public static func splitBySlot(_ arguments: [Bytes], metadata: CommandMetadata) -> [SlotBatch]? {
        guard let step = splittableStep(metadata), arguments.count > 1, (arguments.count - 1) % step == 0 else { return nil }
        var batches: [SlotBatch] = []
        var batchOfSlot: [UInt16: Int] = [:]
        var position = 0
        for keyIndex in stride(from: 1, to: arguments.count, by: step) {
            let slot = HashSlot.of(arguments[keyIndex])
            let batch: Int
            if let existing = batchOfSlot[slot] {
                batch = existing
            } else {
                batch = batches.count
                batchOfSlot[slot] = batch
                batches.append(SlotBatch(slot: slot, arguments: [arguments[0]], keyPositions: []))
            }
            batches[batch].arguments.append(contentsOf: arguments[keyIndex..<keyIndex + step])
            batches[batch].keyPositions.append(position)
            position += 1
        }
        return batches
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
