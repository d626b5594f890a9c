import Glibc

/// A `GlideConnector` that records what every connection of a client sends and receives, byte for
/// byte, over the client's own connector: for debugging a protocol exchange, and for tests that
/// must see the wire. Set it as a configuration's `connector`.
///
/// It keeps the first `limit` bytes of each direction per node, and counts them all.
public final class TrafficRecorder: GlideConnector {
    /// One node's traffic.
    public struct Traffic: Sendable {
        /// What the client wrote, up to the recorder's limit.
        public var sent = Bytes()
        /// What the client read, up to the recorder's limit.
        public var received = Bytes()
        /// Every byte written, kept or not.
        public var sentCount = 0
        /// Every byte read, kept or not.
        public var receivedCount = 0
        /// Connections opened.
        public var connections = 0
    }

    private let limit: Int
    // The package's lock, which ThreadSanitizer builds can see through (Lock.swift).
    private let state = Lock<[NodeAddress: Traffic]>([:])

    /// A recorder keeping up to `limit` bytes each way per node.
    public init(limit: Int = 1 << 20) {
        self.limit = limit
    }

    /// The traffic of every node so far.
    public var traffic: [NodeAddress: Traffic] { state.withLock { $0 } }

    /// The traffic with `address` so far (empty when there was none).
    public func traffic(with address: NodeAddress) -> Traffic { state.withLock { $0[address] ?? Traffic() } }

    /// Opens the client's own stream to `address` and records through it.
    public func connect(to address: NodeAddress, deadline: Deadline, standard: SocketConnector) async throws(TransportError)
        -> any ByteStream
    {
        let stream = try await standard.connect(deadline: deadline)
        state.withLock { $0[address, default: Traffic()].connections += 1 }
        return RecordingStream(stream, address: address, recorder: self)
    }

    fileprivate func record(_ address: NodeAddress, sent: UnsafeRawBufferPointer? = nil, received: Bytes? = nil) {
        state.withLock { all in
            var traffic = all[address, default: Traffic()]
            if let sent {
                traffic.sentCount += sent.count
                let room = max(0, limit - traffic.sent.count)
                if room > 0 { traffic.sent.writeBytes(UnsafeRawBufferPointer(rebasing: sent.prefix(room))) }
            }
            if let received {
                traffic.receivedCount += received.count
                let room = max(0, limit - traffic.received.count)
                if room > 0 { traffic.received.writeBytes(received.prefix(room)) }
            }
            all[address] = traffic
        }
    }
}

/// A stream that hands every byte it moves to its recorder.
private final class RecordingStream: ByteStream {
    let inner: NodeStream
    let address: NodeAddress
    let recorder: TrafficRecorder

    init(_ inner: NodeStream, address: NodeAddress, recorder: TrafficRecorder) {
        self.inner = inner
        self.address = address
        self.recorder = recorder
    }

    var selectableDescriptor: Int32? { inner.selectableDescriptor }
    var allowsConcurrentWrites: Bool { inner.allowsConcurrentWrites }

    func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        let start = buffer.count
        let result = try inner.read(into: &buffer, maximumLength: maximumLength)
        if case .bytes(let count) = result, let read = buffer.getSlice(at: start, length: count) {
            recorder.record(address, received: read)
        }
        return result
    }

    func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        let result = try inner.write(vectors: vectors)
        if case .processed(var remaining) = result {
            for vector in vectors where remaining > 0 {
                let length = min(remaining, vector.iov_len)
                recorder.record(address, sent: UnsafeRawBufferPointer(start: vector.iov_base, count: length))
                remaining -= length
            }
        }
        return result
    }

    func close() { inner.close() }
}
