public import Glibc

/// Buffers queued for writing, with the accounting for partial vectored writes.
///
/// A pure value: it never touches a socket. The owner offers its vectors to a stream and reports
/// back how many bytes the stream took.
public struct PendingWrites: Sendable {
    private var chunks = RingBuffer<Bytes>(minimumCapacity: 4)
    /// The number of bytes waiting.
    public private(set) var byteCount = 0

    /// The most vectors offered to one write; the kernel's `IOV_MAX` is 1024.
    public static let maximumVectors = 64

    /// An empty queue.
    public init() {}

    /// Whether nothing is waiting.
    public var isEmpty: Bool { byteCount == 0 }

    /// The number of buffers waiting.
    public var chunkCount: Int { chunks.count }

    /// Queues `bytes` after everything already waiting. Empty buffers are ignored.
    public mutating func append(_ bytes: Bytes) {
        guard bytes.readableBytes > 0 else { return }
        chunks.append(bytes)
        byteCount += bytes.readableBytes
    }

    /// Calls `body` with vectors for up to `maximumVectors` buffers from the front.
    public func withVectors<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<iovec>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let count = Swift.min(chunks.count, Self.maximumVectors)
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Swift.max(count, 1)) { vectors throws(Failure) in
            for index in 0..<count {
                let chunk = chunks[index]
                vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: chunk._unsafeReadableAddress),
                                       iov_len: chunk.readableBytes)
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
        while left > 0 {
            let front = chunks[0].readableBytes
            if left >= front {
                _ = chunks.popFirst()
                left -= front
            } else {
                chunks[0].moveReaderIndex(forwardBy: left)
                left = 0
            }
        }
    }

    /// Removes everything, returning the buffers in order.
    public mutating func removeAll() -> [Bytes] {
        let all = Array(chunks)
        chunks.removeAll(keepingCapacity: true)
        byteCount = 0
        return all
    }
}
