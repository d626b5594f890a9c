import CGlideTLS
import Glibc
import GlideTransport
import Testing

@testable import GlideTLS

/// A server-side OpenSSL session over one end of a memory pipe, with a throwaway Ed25519
/// certificate made in-process: the peer for unit tests of `TLSStream`, with no socket.
final class MemoryTLSServer {
    let context: OpaquePointer
    let ssl: OpaquePointer
    let readBIO: OpaquePointer
    let writeBIO: OpaquePointer
    let pipe: MemoryByteStream
    /// The self-signed certificate, as PEM, for the client to trust.
    let certificatePEM: String

    init(pipe: MemoryByteStream, commonName: String = "localhost") {
        self.pipe = pipe
        let keyContext = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil)
        var key: OpaquePointer?
        EVP_PKEY_keygen_init(keyContext)
        EVP_PKEY_keygen(keyContext, &key)
        EVP_PKEY_CTX_free(keyContext)
        let certificate = X509_new()!
        X509_set_version(certificate, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1)
        X509_gmtime_adj(X509_getm_notBefore(certificate), -60)
        X509_gmtime_adj(X509_getm_notAfter(certificate), 3600)
        X509_set_pubkey(certificate, key)
        let name = X509_get_subject_name(certificate)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0)
        X509_set_issuer_name(certificate, name)
        let altName = X509V3_EXT_conf_nid(nil, nil, NID_subject_alt_name, "DNS:\(commonName)")
        X509_add_ext(certificate, altName, -1)
        X509_EXTENSION_free(altName)
        X509_sign(certificate, key, nil)
        let bio = BIO_new(BIO_s_mem())!
        PEM_write_bio_X509(bio, certificate)
        var pem = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        BIO_read(bio, &pem, Int32(pem.count))
        BIO_free(bio)
        certificatePEM = String(decoding: pem, as: UTF8.self)

        context = SSL_CTX_new(TLS_server_method())!
        SSL_CTX_use_certificate(context, certificate)
        SSL_CTX_use_PrivateKey(context, key)
        X509_free(certificate)
        EVP_PKEY_free(key)
        ssl = SSL_new(context)!
        readBIO = BIO_new(BIO_s_mem())!
        writeBIO = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_accept_state(ssl)
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Moves ciphertext from the pipe into OpenSSL, runs the handshake or reads, and sends what
    /// OpenSSL produced; returns the plaintext received.
    func pump() -> [UInt8] {
        let incoming = pipe.receiveAll()
        incoming.withUnsafeReadableBytes { _ = BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
        var plaintext: [UInt8] = []
        if SSL_is_init_finished(ssl) == 0 { _ = SSL_do_handshake(ssl) }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while SSL_is_init_finished(ssl) != 0, case let count = SSL_read(ssl, &chunk, Int32(chunk.count)), count > 0 {
            plaintext += chunk[0..<Int(count)]
        }
        flush()
        return plaintext
    }

    /// Encrypts `bytes` to the client.
    func send(_ bytes: [UInt8]) {
        _ = SSL_write(ssl, bytes, Int32(bytes.count))
        flush()
    }

    private func flush() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while BIO_ctrl_pending(writeBIO) > 0 {
            let count = BIO_read(writeBIO, &buffer, Int32(buffer.count))
            try? pipe.send(Bytes(buffer[0..<Int(count)]))
        }
    }
}

/// A stream that takes at most `budget` bytes until refilled: a socket whose buffer is full.
final class ThrottledStream: ByteStream, @unchecked Sendable {
    let inner: MemoryByteStream
    var budget: Int
    init(_ inner: MemoryByteStream, budget: Int) {
        self.inner = inner
        self.budget = budget
    }
    var selectableDescriptor: Int32? { nil }
    var allowsConcurrentWrites: Bool { true }
    func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        try inner.read(into: &buffer, maximumLength: maximumLength)
    }
    func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        guard budget > 0 else { return .wouldBlock }
        let first = vectors[0]
        let count = min(budget, first.iov_len)
        var vector = iovec(iov_base: first.iov_base, iov_len: count)
        let result = try withUnsafePointer(to: &vector) { pointer throws(TransportError) in
            try inner.write(vectors: UnsafeBufferPointer(start: pointer, count: 1))
        }
        if case .processed(let taken) = result { budget -= taken }
        return result
    }
    func close() { inner.close() }
}

/// Steps `client`'s handshake against `server` until it stops being incomplete (10 rounds at most).
func handshake<Inner>(_ client: TLSStream<Inner>, with server: MemoryTLSServer) -> TLSHandshakeStep {
    var outcome = client.handshakeStep()
    for _ in 0..<10 {
        guard case .incomplete = outcome else { break }
        _ = server.pump()
        outcome = client.handshakeStep()
    }
    return outcome
}

/// How many bytes a write took, or nil when it would block.
func taken(_ result: IOResult<Int>) -> Int? {
    if case .processed(let count) = result { return count }
    return nil
}

@Suite(.timeLimit(.minutes(2))) struct TLSStreamTests {
    /// A client stream over a throttled pipe, a server at the other end, and the finished handshake.
    func establish(budget: Int = .max) throws -> (TLSStream<ThrottledStream>, ThrottledStream, MemoryTLSServer) {
        let (clientEnd, serverEnd) = MemoryByteStream.makePair()
        let server = MemoryTLSServer(pipe: serverEnd)
        let throttled = ThrottledStream(clientEnd, budget: budget)
        let context = try TLSContext(TLSConfiguration(trustRoots: .pem(server.certificatePEM)))
        let client = try TLSStream(over: throttled, context: context, host: "localhost")
        let outcome = handshake(client, with: server)
        guard outcome == .complete else {
            Issue.record("handshake ended with \(outcome)")
            throw TransportError(.tlsProtocolFailure)
        }
        _ = server.pump()  // the server takes the client's last flight and finishes too
        return (client, throttled, server)
    }

    @Test func theHandshakeStepsToCompletionAndDataFlowsBothWays() throws {
        let (client, _, server) = try establish()
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(taken(try client.write(Bytes("PING\r\n"))) == 6)
        #expect(server.pump() == Array("PING\r\n".utf8))
        server.send(Array("+PONG\r\n".utf8))
        var buffer = Bytes()
        #expect(try client.read(into: &buffer, maximumLength: 1024) == .bytes(7))
        #expect(buffer.string == "+PONG\r\n")
        #expect(try client.read(into: &buffer, maximumLength: 1024) == .wouldBlock)
    }

    @Test func aReadFillsFromEveryRecordAlreadyReceived() throws {
        // Several records in the pipe at once: one read must drain them all, or the bytes left
        // inside OpenSSL would never get a readiness event.
        let (client, _, server) = try establish()
        for index in 0..<5 { server.send(Array(repeating: UInt8(index), count: 10_000)) }
        var buffer = Bytes()
        let result = try client.read(into: &buffer, maximumLength: 1 << 20)
        #expect(result == .bytes(50_000), "\(result) \(buffer.count)")
    }

    @Test func plaintextCountsAsTakenOnlyOnceItsCiphertextIsSent() throws {
        let (client, throttled, server) = try establish()
        throttled.budget = 100  // the socket takes 100 bytes, then is full
        let payload = Bytes((0..<5_000).map { UInt8(truncatingIfNeeded: $0) })
        // Nothing counts as taken yet: the caller must offer the same bytes again.
        #expect(taken(try client.write(payload)) == nil)
        #expect(taken(try client.write(payload)) == nil)
        throttled.budget = .max  // writable again
        #expect(taken(try client.write(payload)) == 5_000)
        #expect(server.pump() == payload.array)
    }

    @Test func theWrongCertificateFailsTheHandshakeWithAReason() throws {
        let (clientEnd, serverEnd) = MemoryByteStream.makePair()
        let server = MemoryTLSServer(pipe: serverEnd)
        let stranger = MemoryTLSServer(pipe: MemoryByteStream.makePair().0)
        let context = try TLSContext(TLSConfiguration(trustRoots: .pem(stranger.certificatePEM)))
        let client = try TLSStream(over: clientEnd, context: context, host: "localhost")
        let outcome = handshake(client, with: server)
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(error.kind == .tlsUntrustedCertificate)
    }

    @Test func theNameCheckedIsTheHostOrTheOverride() throws {
        let (clientEnd, serverEnd) = MemoryByteStream.makePair()
        let server = MemoryTLSServer(pipe: serverEnd, commonName: "valkey.internal")
        let context = try TLSContext(TLSConfiguration(trustRoots: .pem(server.certificatePEM)))
        let client = try TLSStream(over: clientEnd, context: context, host: "localhost")
        let outcome = handshake(client, with: server)
        #expect(outcome == .failed(TransportError(.tlsHostNameMismatch, detail: "TLS handshake: hostname mismatch")))
        #expect(throws: TransportError.self) { try TLSContext(TLSConfiguration(serverName: "")) }
    }
}
