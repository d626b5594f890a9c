import Foundation
import Glide
import GlideTestSupport
import Testing

/// Servers shared by the TLS tests: Debian's redis-server, TLS only, each with a different
/// certificate. Started once, in parallel, on first use.
enum TLSServers {
    /// Presents the server certificate of the trusted CA; client certificates optional.
    static let trusted = Task { try await TestServer.startRedisTLS(try await TestCertificates.shared(), clientCertificates: "optional") }
    /// Presents a certificate from a CA the clients don't trust.
    static let otherCA = Task {
        let certificates = try await TestCertificates.shared()
        return try await TestServer.startRedisTLS(
            certificates, certificate: certificates.otherServerCertificate,
            key: certificates.otherServerKey)
    }
    /// Presents an expired certificate from the trusted CA.
    static let expired = Task {
        let certificates = try await TestCertificates.shared()
        return try await TestServer.startRedisTLS(
            certificates, certificate: certificates.expiredServerCertificate,
            key: certificates.expiredServerKey)
    }
    /// Requires a client certificate signed by the trusted CA.
    static let mutual = Task { try await TestServer.startRedisTLS(try await TestCertificates.shared(), clientCertificates: "yes") }
}

@Suite(.timeLimit(.minutes(5))) struct TLSStandaloneTests {
    /// A client of `server` over TLS with `tls`.
    func connect(_ server: TestServer, _ tls: TLSConfiguration?) async throws -> GlideClient {
        try await GlideClient.create(
            GlideClientConfiguration(addresses: [server.address]).with {
                $0.useTLS = true
                $0.tlsConfiguration = tls
                $0.requestTimeout = .seconds(5)
            })
    }

    /// The `.tls` error `create` throws for `server` with `tls`.
    func tlsFailure(_ server: TestServer, _ tls: TLSConfiguration?, host: String = "127.0.0.1") async -> GlideError? {
        let error = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [NodeAddress(host: host, port: server.port)]).with {
                    $0.useTLS = true
                    $0.tlsConfiguration = tls
                })
        }
        #expect(error?.code == .tls, "\(String(describing: error))")
        return error
    }

    @Test func verifiedConnectionWithTheCAFromAFileOrFromPEMText() async throws {
        let certificates = try await TestCertificates.shared()
        let server = try await TLSServers.trusted.value
        for roots in [TLSConfiguration.PEMSource.file(certificates.caCertificate), .pem(try certificates.caPEM())] {
            let client = try await connect(server, TLSConfiguration(trustRoots: roots))
            let key = SharedServer.uniqueKey()
            try await client.set(key, "over TLS")
            #expect(try await client.get(key) == "over TLS")
            await client.close()
        }
        // A host name is checked against the certificate's DNS names, and sent as SNI.
        let byName = try await GlideClient.create(
            GlideClientConfiguration(addresses: [NodeAddress(host: "localhost", port: server.port)]).with {
                $0.useTLS = true
                $0.tlsConfiguration = certificates.clientTLS
            })
        #expect(try await byName.ping() == "PONG")
        await byName.close()
    }

    @Test func verificationIsOnByDefaultAgainstTheSystemStore() async throws {
        // The test CA is in no system store: the default configuration must refuse the server.
        let error = await tlsFailure(try await TLSServers.trusted.value, nil)
        #expect(error?.transportError?.kind == .tlsUntrustedCertificate)
    }

    @Test func aCertificateFromAnotherCAIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let error = await tlsFailure(try await TLSServers.otherCA.value, certificates.clientTLS)
        #expect(error?.transportError?.kind == .tlsUntrustedCertificate)
        #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
    }

    @Test func aHostNameTheCertificateDoesNotNameIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let server = try await TLSServers.trusted.value
        let renamed = TLSConfiguration(trustRoots: .file(certificates.caCertificate), serverName: "db.example.com")
        #expect(await tlsFailure(server, renamed)?.transportError?.kind == .tlsHostNameMismatch)
        // An address the certificate does not list fails the same way.
        let address = TLSConfiguration(trustRoots: .file(certificates.caCertificate), serverName: "10.1.2.3")
        #expect(await tlsFailure(server, address)?.transportError?.kind == .tlsHostNameMismatch)
    }

    @Test func anExpiredCertificateIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let error = await tlsFailure(try await TLSServers.expired.value, certificates.clientTLS)
        #expect(error?.transportError?.kind == .tlsCertificateExpired)
    }

    @Test func insecureModeConnectsToAnyCertificate() async throws {
        for server in [try await TLSServers.otherCA.value, try await TLSServers.expired.value] {
            let client = try await connect(server, .insecure)
            #expect(try await client.ping() == "PONG")
            await client.close()
        }
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        let certificates = try await TestCertificates.shared()
        let server = try await TLSServers.mutual.value
        var tls = certificates.clientTLS
        let error = await tlsFailure(server, tls)
        #expect(error?.transportError?.kind == .tlsClientCertificateRejected, "\(String(describing: error))")

        tls.certificateChain = .file(certificates.clientCertificate)
        tls.privateKey = .pem(try String(contentsOfFile: certificates.clientKey, encoding: .utf8))
        let client = try await connect(server, tls)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func aSixteenMebibyteValueRoundTrips() async throws {
        let certificates = try await TestCertificates.shared()
        let client = try await connect(try await TLSServers.trusted.value, certificates.clientTLS)
        let value = Bytes((0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) })
        let key = SharedServer.uniqueKey()
        try await client.set(key, value)
        let read: Bytes? = try await client.get(key, as: Bytes.self)
        #expect(read?.count == value.count)
        #expect(read == value)
        _ = try await client.del([key])
        await client.close()
    }

    @Test func twoHundredTasksShareOneTLSConnection() async throws {
        let certificates = try await TestCertificates.shared()
        let client = try await connect(try await TLSServers.trusted.value, certificates.clientTLS)
        let prefix = SharedServer.uniqueKey()
        // Values of up to 3,000 bytes: many TLS records per write.
        let mismatches = try await Workloads.setGetMismatches(on: client, prefix: prefix, rounds: 20) { task, round in
            "\(task)-\(round)-" + String(repeating: "x", count: task * 37 % 3000)
        }
        #expect(mismatches == 0)
        await client.close()
    }

    @Test func tlsNeverFallsBackToPlainText() async throws {
        // A TLS client at a plain-text port fails; it never sends its commands in plain text.
        let plain = try await TestServer.startValkey()
        defer { plain.stop() }
        let admin = try await plain.client()
        func hellos() async throws -> String {
            let stats = try await admin.customCommand(["INFO", "commandstats"]).stringValue ?? ""
            return stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_hello:") }.map(String.init) ?? ""
        }
        let before = try await hellos()
        let error = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [plain.address]).with {
                    $0.useTLS = true
                    $0.tlsConfiguration = .insecure
                    $0.connectionTimeout = .milliseconds(500)
                })
        }
        // valkey reads the ClientHello as an unfinished inline command and waits: the handshake times out.
        #expect(error?.code == .connectionFailed || error?.code == .tls, "\(String(describing: error))")
        #expect(try await hellos() == before)
        await admin.close()
        // A plain client at a TLS port can't connect either.
        let server = try await TLSServers.trusted.value
        let plainAtTLS = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [server.address]).with {
                    $0.connectionTimeout = .seconds(1)
                })
        }
        #expect(plainAtTLS?.code == .connectionFailed, "\(String(describing: plainAtTLS))")
    }

    @Test func unusableTLSSettingsAreConfigurationErrors() async throws {
        let server = try await TLSServers.trusted.value
        let missing = await #expect(throws: GlideError.self) {
            try await connect(server, TLSConfiguration(trustRoots: .file("/nonexistent/ca.crt")))
        }
        #expect(missing?.code == .configuration)
        #expect(missing?.transportError?.kind == .tlsConfigurationInvalid)
        let notPEM = await #expect(throws: GlideError.self) {
            try await connect(server, TLSConfiguration(trustRoots: .pem("not a certificate")))
        }
        #expect(notPEM?.code == .configuration)
        let certificates = try await TestCertificates.shared()
        let mismatchedKey = await #expect(throws: GlideError.self) {
            try await connect(
                server,
                TLSConfiguration(
                    trustRoots: .file(certificates.caCertificate),
                    certificateChain: .file(certificates.clientCertificate),
                    privateKey: .file(certificates.serverKey)))
        }
        #expect(mismatchedKey?.code == .configuration)
        let withoutUseTLS = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [server.address]).with {
                    $0.tlsConfiguration = .insecure
                })
        }
        #expect(withoutUseTLS?.code == .configuration)
    }

    @Test func theHandshakeCountsAgainstTheConnectTimeout() async throws {
        // A listener that accepts TCP but never answers the ClientHello.
        let silent = SilentListener()
        defer { silent.close() }
        let started = ContinuousClock.now
        let error = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: silent.port)]).with {
                    $0.useTLS = true
                    $0.tlsConfiguration = .insecure
                    $0.connectionTimeout = .milliseconds(300)
                })
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.transportError?.kind == .connectTimedOut)
        #expect(ContinuousClock.now - started < TestTiming.bound(.seconds(3)))
    }

    @Test func theKeyIsNeverShown() throws {
        let configuration = TLSConfiguration(
            certificateChain: .pem("-----BEGIN CERTIFICATE-----"),
            privateKey: .pem("-----BEGIN PRIVATE KEY-----secret-key-material"))
        for text in ["\(configuration)", String(reflecting: configuration), dumped(configuration)] {
            #expect(!text.contains("secret-key-material"), "\(text)")
        }
    }
}

/// What `dump` prints for `value`.
func dumped(_ value: some Any) -> String {
    var text = ""
    dump(value, to: &text)
    return text
}
