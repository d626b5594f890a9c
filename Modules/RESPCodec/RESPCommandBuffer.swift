/// Encoded commands, ready to be written: a byte buffer, plus large payloads held by reference.
///
/// Commands encode into it with `writeRESPCommand`. Framing and small arguments are copied into
/// `bytes`; a `Bytes` argument of `referenceThreshold` bytes or more is not copied but recorded
/// with its position, and `chunks` gives the pieces in wire order, so a vectored write sends the
/// value from the caller's own storage.
public struct RESPCommandBuffer: Sendable {
    /// A payload to send, by reference, after `offset` bytes of `bytes`.
    @usableFromInline
    struct Reference: Sendable {
        @usableFromInline let offset: Int
        @usableFromInline let payload: Bytes

        @inlinable
        init(offset: Int, payload: Bytes) {
            self.offset = offset
            self.payload = payload
        }
    }

    /// The framing and the arguments copied in.
    public var bytes: Bytes
    @usableFromInline var references: [Reference] = []

    /// Payloads at least this large are sent from their own storage instead of being copied: below
    /// it a copy costs less than the extra bookkeeping and vector.
    public static var referenceThreshold: Int { 64 * 1024 }

    /// An empty buffer with room for `capacity` bytes.
    @inlinable
    public init(capacity: Int = 0) {
        self.bytes = Bytes(capacity: capacity)
    }

    /// Whether nothing has been written.
    @inlinable
    public var isEmpty: Bool { bytes.readableBytes == 0 }

    /// The total number of bytes, referenced payloads included.
    public var byteCount: Int {
        references.reduce(bytes.readableBytes) { $0 + $1.payload.readableBytes }
    }

    /// Removes everything; unshared storage is kept for reuse.
    @inlinable
    public mutating func clear() {
        bytes.clear()
        references.removeAll(keepingCapacity: true)
    }

    /// Appends everything `other` holds, referenced payloads staying referenced.
    public mutating func append(_ other: RESPCommandBuffer) {
        let base = bytes.readableBytes
        bytes.writeBytes(other.bytes)
        for reference in other.references {
            references.append(Reference(offset: base + reference.offset, payload: reference.payload))
        }
    }

    /// A position between two commands: how many bytes and referenced payloads precede it.
    public struct Mark: Hashable, Sendable {
        /// Bytes of `bytes` before the position.
        public let byteOffset: Int
        /// Referenced payloads before the position.
        public let referenceCount: Int

        /// The position after `byteOffset` bytes and `referenceCount` referenced payloads.
        @inlinable
        public init(byteOffset: Int, referenceCount: Int) {
            self.byteOffset = byteOffset
            self.referenceCount = referenceCount
        }

        /// The start of a buffer.
        public static var start: Mark { Mark(byteOffset: 0, referenceCount: 0) }
    }

    /// The position after everything written so far.
    @inlinable
    public var mark: Mark { Mark(byteOffset: bytes.readableBytes, referenceCount: references.count) }

    /// Appends what `other` holds between `start` and `end` (two marks taken between commands),
    /// referenced payloads staying referenced. Used to drop commands that must not be sent after
    /// all, a rare path: the kept framing is copied.
    public mutating func append(_ other: RESPCommandBuffer, from start: Mark, to end: Mark) {
        precondition(
            start.byteOffset <= end.byteOffset && start.referenceCount <= end.referenceCount
                && end.byteOffset <= other.bytes.readableBytes && end.referenceCount <= other.references.count,
            "marks outside the buffer")
        let base = bytes.readableBytes
        bytes.writeBytes(other.bytes.getSlice(at: start.byteOffset, length: end.byteOffset - start.byteOffset)!)
        for index in start.referenceCount..<end.referenceCount {
            let reference = other.references[index]
            references.append(Reference(offset: base + reference.offset - start.byteOffset, payload: reference.payload))
        }
    }

    /// The bytes in wire order, as slices of `bytes` and the referenced payloads. No byte is copied.
    public func forEachChunk(_ body: (Bytes) -> Void) {
        guard !references.isEmpty else {
            body(bytes)
            return
        }
        var position = 0
        for reference in references {
            body(bytes.getSlice(at: position, length: reference.offset - position)!)
            body(reference.payload)
            position = reference.offset
        }
        body(bytes.getSlice(at: position, length: bytes.readableBytes - position)!)
    }

    /// Everything in one contiguous buffer (a copy when payloads are referenced); for tests and
    /// diagnostics.
    public var contiguousBytes: Bytes {
        guard !references.isEmpty else { return bytes }
        var all = Bytes(capacity: byteCount)
        forEachChunk { all.writeBytes($0) }
        return all
    }
}
