public import Glibc
import Synchronization

/// One end of an in-memory, full-duplex pipe: a `ByteStream` for tests that need no socket.
///
/// Bytes written to one end are read from the other. Closing an end gives the other end's reads
/// end-of-stream and its writes a `connectionClosed` error, as a TCP peer would see.
public final class MemoryByteStream: ByteStream {
    final class Pipe: Sendable {
        struct State {
            var bytes = Bytes()
            var writerClosed = false
            var readerClosed = false
            /// How many writes put bytes into the pipe.
            var writes = 0
        }
        let state = Lock(State())
    }

    let inbound: Pipe
    let outbound: Pipe

    init(inbound: Pipe, outbound: Pipe) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Two connected ends.
    public static func makePair() -> (MemoryByteStream, MemoryByteStream) {
        let forward = Pipe()
        let backward = Pipe()
        return (MemoryByteStream(inbound: backward, outbound: forward), MemoryByteStream(inbound: forward, outbound: backward))
    }

    /// None: an epoll loop can't watch this stream; a `ManualEventLoop` can.
    public var selectableDescriptor: Int32? { nil }

    /// Both directions are independent.
    public var allowsConcurrentWrites: Bool { true }

    /// Whether a read would return bytes or end-of-stream now.
    public var isReadable: Bool {
        inbound.state.withLock { $0.bytes.readableBytes > 0 || $0.writerClosed || $0.readerClosed }
    }

    /// Moves up to `maximumLength` waiting bytes into `buffer`.
    public func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        let chunk: Bytes? = try inbound.state.withLock { state throws(TransportError) -> Bytes? in
            if state.readerClosed { throw TransportError(.streamClosed, detail: "read after close") }
            guard state.bytes.readableBytes > 0 else { return nil }
            return state.bytes.readSlice(length: Swift.min(maximumLength, state.bytes.readableBytes))
        }
        if let chunk {
            // Room for `maximumLength`, as a socket read makes, so the buffer grows as it would.
            buffer.reserveWritableBytes(maximumLength)
            buffer.writeBytes(chunk)
            return .bytes(chunk.readableBytes)
        }
        return inbound.state.withLock { $0.writerClosed } ? .endOfStream : .wouldBlock
    }

    /// Takes every byte offered: the pipe has no limit.
    public func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        try outbound.state.withLock { state throws(TransportError) in
            if state.writerClosed { throw TransportError(.streamClosed, detail: "write after close") }
            if state.readerClosed { throw TransportError(.connectionClosed, detail: "peer closed") }
            var total = 0
            state.writes += 1
            for vector in vectors {
                state.bytes.writeBytes(UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len))
                total += vector.iov_len
            }
            return .processed(total)
        }
    }

    /// Closes this end.
    public func close() {
        outbound.state.withLock { $0.writerClosed = true }
        inbound.state.withLock { $0.readerClosed = true }
    }

    // MARK: Conveniences for the test's side of the pipe

    /// Writes `bytes` to the peer.
    public func send(_ bytes: Bytes) throws(TransportError) {
        _ = try write(bytes)
    }

    /// Writes the UTF-8 bytes of `text` to the peer.
    public func send(_ text: String) throws(TransportError) {
        _ = try write(Bytes(text))
    }

    /// Takes every byte waiting to be read.
    public func receiveAll() -> Bytes {
        inbound.state.withLock { state in
            let all = state.bytes
            state.bytes = Bytes()
            return all
        }
    }

    /// How many writes the peer made: a test's count of the syscalls a socket would have taken.
    public var peerWriteCount: Int { inbound.state.withLock { $0.writes } }

    /// Whether the peer closed its end.
    public var peerClosed: Bool { inbound.state.withLock { $0.writerClosed } }
}
