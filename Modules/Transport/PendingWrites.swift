public import Glibc

/// Buffers queued for writing, with the accounting for partial vectored writes.
///
/// A pure value: it never touches a socket. The owner offers its vectors to a stream and reports
/// back how many bytes the stream took.
public struct PendingWrites: Sendable {
    /// The front chunk, held inline: most writes have exactly one, and then nothing is allocated.
    private var front: Bytes?
    /// The chunks after the front one, created when a second chunk arrives.
    private var rest: RingBuffer<Bytes>?
    /// The number of bytes waiting.
    public private(set) var byteCount = 0

    /// The most vectors offered to one write; the kernel's `IOV_MAX` is 1024.
    public static let maximumVectors = 64

    /// An empty queue.
    public init() {}

    /// Whether nothing is waiting.
    public var isEmpty: Bool { byteCount == 0 }

    /// The number of buffers waiting.
    public var chunkCount: Int { (front == nil ? 0 : 1) + (rest?.count ?? 0) }

    /// Queues `bytes` after everything already waiting. Empty buffers are ignored.
    public mutating func append(_ bytes: Bytes) {
        guard bytes.readableBytes > 0 else { return }
        byteCount += bytes.readableBytes
        if front == nil {
            front = bytes
        } else {
            if rest == nil { rest = RingBuffer(minimumCapacity: 4) }
            rest!.append(bytes)
        }
    }

    /// Calls `body` with vectors for up to `maximumVectors` buffers from the front.
    public func withVectors<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<iovec>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let count = Swift.min(chunkCount, Self.maximumVectors)
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Swift.max(count, 1)) { vectors throws(Failure) in
            func vector(_ chunk: Bytes) -> iovec {
                iovec(iov_base: UnsafeMutableRawPointer(mutating: chunk._unsafeReadableAddress), iov_len: chunk.readableBytes)
            }
            if let front, count > 0 { vectors[0] = vector(front) }
            if let rest {
                for index in 0..<(count - 1) { vectors[index + 1] = vector(rest[index]) }
            }
            // The chunks stay referenced by `self` for the duration, so their storage is alive.
            return try body(UnsafeBufferPointer(rebasing: vectors[0..<count]))
        }
    }

    /// Accounts for `count` bytes written from the front: drops buffers written in full and
    /// advances into one written in part.
    public mutating func didWrite(_ count: Int) {
        precondition(count >= 0 && count <= byteCount, "wrote more bytes than were pending")
        byteCount -= count
        var left = count
        while left > 0, let chunk = front {
            if left >= chunk.readableBytes {
                left -= chunk.readableBytes
                front = rest?.popFirst()
            } else {
                front!.moveReaderIndex(forwardBy: left)
                left = 0
            }
        }
    }

    /// Removes everything, returning the buffers in order.
    public mutating func removeAll() -> [Bytes] {
        var all: [Bytes] = []
        if let front { all.append(front) }
        if let rest { all.append(contentsOf: rest) }
        front = nil
        rest = nil
        byteCount = 0
        return all
    }
}
