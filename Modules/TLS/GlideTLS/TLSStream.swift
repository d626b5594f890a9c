import CGlideTLS
public import Glibc
public import GlideTransport
import Synchronization

/// Buffer sizes of `TLSStream`.
enum TLSBuffering {
    /// The most ciphertext moved per inner read: several records of up to 16 KiB.
    static var readSize: Int { 64 * 1024 }
    /// The most plaintext encrypted per write call: it bounds the ciphertext buffered here when
    /// the socket is slow.
    static var writeBudget: Int { 256 * 1024 }
}

/// Where a TLS handshake stands after one step.
public enum TLSHandshakeStep: Equatable, Sendable {
    /// It needs the peer: step again when the inner stream is readable, or also writable when
    /// `wantsWritable` (ciphertext is waiting for room in the socket).
    case incomplete(wantsWritable: Bool)
    /// The session is established; application data may flow.
    case complete
    /// It failed; the error says why. The stream must be closed.
    case failed(TransportError)
}

/// TLS over any `ByteStream`: OpenSSL works on two memory BIOs, and this stream moves ciphertext
/// between them and the inner stream, so every socket read and write stays with the transport.
///
/// Nothing blocks. The handshake is a step machine (`handshakeStep()`): each step feeds OpenSSL
/// what the inner stream has, sends what OpenSSL produced, and says what it waits for. After
/// it, `read` decrypts into the caller's buffer and `write` encrypts the caller's vectors.
///
/// A session is not safe to use from two threads at once, so `allowsConcurrentWrites` is false:
/// its owner reads and writes from one thread (the event loop). `close()` may come from any
/// thread; the session is freed when the stream is.
public final class TLSStream<Inner: ByteStream>: ByteStream, @unchecked Sendable {
    /// The stream carrying the ciphertext.
    public let inner: Inner
    private let context: TLSContext
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let verified: Bool
    private let closed = Atomic<Bool>(false)
    /// Ciphertext read from the inner stream, on its way into the read BIO.
    private var incoming = Bytes(capacity: TLSBuffering.readSize)
    /// Ciphertext OpenSSL produced that the inner stream has not taken yet.
    private var outgoing = Bytes(capacity: TLSBuffering.readSize)
    /// Plaintext bytes at the front of the caller's next offer that were already encrypted into
    /// `outgoing`: they count as taken once `outgoing` drains (OpenSSL's `SSL_write` retry rule).
    private var encryptedAhead = 0

    /// A client session over `inner` for `host` (the name checked and sent as SNI, unless the
    /// configuration overrides it). Call `handshakeStep()` until it completes, or use `connect`.
    public init(over inner: Inner, context: TLSContext, host: String) throws(TransportError) {
        let ssl = try context.makeSession(host: host)
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSFailure.configuration("OpenSSL could not allocate buffers")
        }
        // The session owns both BIOs from here on; an empty read BIO asks to retry, not EOF.
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_connect_state(ssl)
        self.inner = inner
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.verified = context.configuration.verification == .full
    }

    deinit { SSL_free(ssl) }

    /// The inner stream's descriptor: readiness of the ciphertext is what matters.
    public var selectableDescriptor: Int32? { inner.selectableDescriptor }

    /// False: the session's state is shared by both directions.
    public var allowsConcurrentWrites: Bool { false }

    /// The negotiated protocol, such as `TLSv1.3`, once the handshake completed.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    private func closedError() -> TransportError { TransportError(.streamClosed, detail: "TLS stream") }

    // MARK: Handshake

    /// Advances the handshake as far as the bytes at hand allow.
    public func handshakeStep() -> TLSHandshakeStep {
        guard !closed.load(ordering: .relaxed) else { return .failed(closedError()) }
        while true {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            let drained: Bool
            do throws(TransportError) { drained = try flushOutgoing() } catch { return .failed(error) }
            if result == 1 { return drained ? .complete : .incomplete(wantsWritable: true) }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ:
                let pulled: StreamReadResult
                do throws(TransportError) { pulled = try pullCiphertext() } catch { return .failed(error) }
                switch pulled {
                case .bytes: continue
                case .wouldBlock: return .incomplete(wantsWritable: !drained)
                case .endOfStream:
                    return .failed(TransportError(.tlsProtocolFailure, detail: "the server closed the connection during the TLS handshake"))
                }
            case SSL_ERROR_WANT_WRITE:
                return .incomplete(wantsWritable: true)
            case SSL_ERROR_SSL:
                return .failed(TLSFailure.classify(session: ssl, verified: verified, during: "TLS handshake"))
            default:
                return .failed(TransportError(.tlsProtocolFailure, detail: "TLS handshake: \(TLSFailure.drainErrors())"))
            }
        }
    }

    // MARK: Moving ciphertext

    /// Reads what the inner stream has into the read BIO.
    private func pullCiphertext() throws(TransportError) -> StreamReadResult {
        incoming.clear()
        let result = try inner.read(into: &incoming, maximumLength: TLSBuffering.readSize)
        if case .bytes = result {
            incoming.withUnsafeReadableBytes { raw in
                // A memory BIO grows to take everything: the write never falls short.
                _ = BIO_write(readBIO, raw.baseAddress, Int32(raw.count))
            }
        }
        return result
    }

    /// Moves what OpenSSL produced into `outgoing` and offers it to the inner stream; true when
    /// everything was taken.
    private func flushOutgoing() throws(TransportError) -> Bool {
        while case let pending = BIO_ctrl_pending(writeBIO), pending > 0 {
            _ = outgoing.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { spare in
                Int(max(0, BIO_read(writeBIO, spare.baseAddress, Int32(min(spare.count, pending)))))
            }
        }
        while outgoing.readableBytes > 0 {
            do throws(TransportError) {
                switch try inner.write(outgoing) {
                case .processed(let count): outgoing.moveReaderIndex(forwardBy: count)
                case .wouldBlock: return false
                }
            } catch {
                throw explain(error)
            }
        }
        outgoing.clear()
        return true
    }

    /// The reason a peer that closed the connection gave, if it sent one: a server that refuses
    /// the client's certificate sends an alert, then closes, and a write may be what notices.
    private func explain(_ failure: TransportError) -> TransportError {
        guard !failure.kind.isTLS, (try? pullCiphertext()) != nil else { return failure }
        ERR_clear_error()
        var scratch = [UInt8](repeating: 0, count: 512)
        let result = SSL_read(ssl, &scratch, Int32(scratch.count))
        guard result <= 0, SSL_get_error(ssl, result) == SSL_ERROR_SSL else { return failure }
        return TLSFailure.classify(session: ssl, verified: verified, during: "TLS session")
    }

    // MARK: ByteStream

    /// Decrypts into `buffer` until `maximumLength` bytes, or until both OpenSSL and the inner
    /// stream have nothing more. Filling up matters: bytes left in the read BIO would get no
    /// readiness event from the socket.
    public func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        guard !closed.load(ordering: .relaxed) else { throw closedError() }
        var produced = 0
        var ended = false
        reading: while produced < maximumLength {
            ERR_clear_error()
            var result: Int32 = 0
            let ssl = self.ssl
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: min(maximumLength - produced, 16 * 1024)) { spare in
                result = SSL_read(ssl, spare.baseAddress, Int32(min(spare.count, maximumLength - produced)))
                return Int(max(result, 0))
            }
            if result > 0 {
                produced += Int(result)
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ:
                // OpenSSL may have answered something (a key update): send it along.
                _ = try flushOutgoing()
                switch try pullCiphertext() {
                case .bytes: continue
                case .wouldBlock: break reading
                case .endOfStream:
                    ended = true
                    break reading
                }
            case SSL_ERROR_ZERO_RETURN:
                ended = true  // the server's close_notify
                break reading
            case SSL_ERROR_SSL:
                throw TLSFailure.classify(session: ssl, verified: verified, during: "TLS read")
            default:
                throw TransportError(.connectionClosed, detail: "TLS read: \(TLSFailure.drainErrors())")
            }
        }
        if produced > 0 { return .bytes(produced) }
        return ended ? .endOfStream : .wouldBlock
    }

    /// Encrypts from `vectors` and sends the ciphertext. Plaintext counts as taken once its
    /// ciphertext is all with the inner stream, so the caller's usual "wait for writable, offer
    /// the rest" loop also drains what is buffered here.
    public func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        guard !closed.load(ordering: .relaxed) else { throw closedError() }
        guard try flushOutgoing() else { return .wouldBlock }
        let taken = encryptedAhead
        encryptedAhead = 0
        var skip = taken
        var encrypted = 0
        encrypting: for vector in vectors {
            guard var base = vector.iov_base else { continue }
            var length = vector.iov_len
            if skip >= length {
                skip -= length
                continue
            }
            base += skip
            length -= skip
            skip = 0
            while length > 0 {
                guard encrypted < TLSBuffering.writeBudget else { break encrypting }
                ERR_clear_error()
                let written = SSL_write(ssl, base, Int32(min(length, TLSBuffering.writeBudget - encrypted)))
                guard written > 0 else {
                    if SSL_get_error(ssl, written) == SSL_ERROR_SSL {
                        throw TLSFailure.classify(session: ssl, verified: verified, during: "TLS write")
                    }
                    throw TransportError(.connectionClosed, detail: "TLS write: \(TLSFailure.drainErrors())")
                }
                encrypted += Int(written)
                base += Int(written)
                length -= Int(written)
            }
        }
        if try flushOutgoing() { return .processed(taken + encrypted) }
        encryptedAhead = encrypted
        return taken > 0 ? .processed(taken) : .wouldBlock
    }

    /// Closes the inner stream; later reads and writes fail. No `close_notify` is sent: Valkey
    /// needs none, and the session may be in use on the loop thread.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        inner.close()
    }
}
