public import Glibc

/// What a read from a stream produced.
public enum StreamReadResult: Sendable, Equatable {
    /// This many bytes were appended to the buffer.
    case bytes(Int)
    /// Nothing to read now; wait for readiness.
    case wouldBlock
    /// The peer closed its side: no more bytes will come.
    case endOfStream
}

/// A bidirectional, non-blocking byte stream: a TCP or Unix socket, TLS over one of those, or an
/// in-memory pipe for tests.
///
/// Streams never block: a read or write that can't proceed returns `.wouldBlock`, and the owner
/// waits for the event loop to report readiness. A stream is closed once, by its owner.
public protocol ByteStream: AnyObject, Sendable {
    /// The descriptor an epoll loop watches, or `nil` for a stream without one.
    var selectableDescriptor: Int32? { get }

    /// Whether one thread may write while another reads. True for sockets; false for TLS, whose
    /// session state is shared by both directions.
    var allowsConcurrentWrites: Bool { get }

    /// Appends up to `maximumLength` bytes to `buffer`.
    func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult

    /// Writes from the given vectors, in order, and returns how many bytes were taken; it may be
    /// fewer than offered. Bytes not taken must be offered again, unchanged and first, on the next
    /// call: a TLS stream may already have encrypted them (OpenSSL's rule for `SSL_write`).
    func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int>

    /// Closes the stream. Calling it again does nothing.
    func close()
}

extension ByteStream {
    /// Writes from one buffer; see `write(vectors:)`.
    public func write(_ bytes: Bytes) throws(TransportError) -> IOResult<Int> {
        try bytes.withUnsafeReadableBytes { raw throws(TransportError) in
            var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
            return try withUnsafePointer(to: &vector) { pointer throws(TransportError) in
                try write(vectors: UnsafeBufferPointer(start: pointer, count: 1))
            }
        }
    }
}
