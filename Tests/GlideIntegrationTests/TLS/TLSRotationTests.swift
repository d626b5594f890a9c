import Foundation
import Glibc
import Glide
import GlideTestSupport
import Testing

/// Certificates rotated while a client runs: the files change under it, the server moves to a new
/// CA, and the client's next connection presents and trusts the new material, while the one open
/// keeps its session.
@Suite(.timeLimit(.minutes(2))) struct TLSRotationTests {
    /// Replaces `path` with the file at `source` the way rotations do: copied aside, then renamed
    /// over it.
    static func replace(_ path: String, with source: String) throws {
        let aside = path + ".new"
        try? FileManager.default.removeItem(atPath: aside)
        try FileManager.default.copyItem(atPath: source, toPath: aside)
        guard Glibc.rename(aside, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// A client configuration that connects to `server` with `tls`.
    static func configuration(_ server: TestServer, _ tls: TLSConfiguration) -> GlideClientConfiguration {
        GlideClientConfiguration(addresses: [server.address]).with {
            $0.useTLS = true
            $0.tlsConfiguration = tls
            $0.requestTimeout = .seconds(2)
        }
    }

    @Test func rotatedCertificatesReachTheNextConnectionUnderLoad() async throws {
        let certificates = try await TestCertificates.shared()
        // A server of its own, requiring client certificates: the test moves it to another CA.
        let server = try await TestServer.startRedisTLS(certificates, clientCertificates: "yes")
        defer { server.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glide-rotation-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (roots, chain, key) = (
            directory.appendingPathComponent("ca.crt").path, directory.appendingPathComponent("client.crt").path,
            directory.appendingPathComponent("client.key").path
        )
        try Self.replace(roots, with: certificates.caCertificate)
        try Self.replace(chain, with: certificates.clientCertificate)
        try Self.replace(key, with: certificates.clientKey)
        let files = TLSConfiguration(trustRoots: .file(roots), certificateChain: .file(chain), privateKey: .file(key))
        let client = try await GlideClient.create(Self.configuration(server, files))
        let first = try #require(try await client.customCommand(["CLIENT", "ID"]).intValue)

        let tally = Tally()
        let stop = Flag()
        let prefix = SharedServer.uniqueKey()
        let writer = Task {
            var index = 0
            while !stop.isSet {
                index += 1
                do throws(GlideError) {
                    try await client.set("\(prefix):\(index)", "v")
                    tally.record("ok")
                } catch {
                    tally.record(error.code.description)
                }
            }
        }
        try await Polling.waitUntil("the writes succeed") { tally.counts["ok", default: 0] > 50 }

        // The server moves to the second CA: its own certificate, and the client certificates it
        // accepts. New connections from the old material are refused from now on.
        _ = try await client.customCommand([
            "CONFIG", "SET", "tls-cert-file", certificates.otherServerCertificate, "tls-key-file", certificates.otherServerKey,
            "tls-ca-cert-file", certificates.otherCACertificate,
        ])
        let stale = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                Self.configuration(
                    server,
                    TLSConfiguration(
                        trustRoots: .file(certificates.caCertificate), certificateChain: .file(certificates.clientCertificate),
                        privateKey: .file(certificates.clientKey))))
        }
        #expect(stale?.code == .tls, "\(String(describing: stale))")
        // The open connection keeps its session.
        #expect(try await client.customCommand(["CLIENT", "ID"]).intValue == first)

        // The client's files rotate to the second CA, and its connection is cut: it reconnects
        // by itself, with what the files say now.
        try Self.replace(roots, with: certificates.otherCACertificate)
        try Self.replace(chain, with: certificates.otherClientCertificate)
        try Self.replace(key, with: certificates.otherClientKey)
        let admin = try await GlideClient.create(
            Self.configuration(
                server,
                TLSConfiguration(
                    trustRoots: .file(certificates.otherCACertificate), certificateChain: .file(certificates.otherClientCertificate),
                    privateKey: .file(certificates.otherClientKey))))
        #expect(try await admin.customCommand(["CLIENT", "KILL", "ID", String(first)]).intValue == 1)
        let cut = ContinuousClock.now
        try await Polling.waitUntil("the client reconnected", timeout: .seconds(10)) {
            let next = try? await client.customCommand(["CLIENT", "ID"]).intValue
            return next != nil && next != first
        }
        let reconnected = ContinuousClock.now - cut
        let mark = tally.counts["ok", default: 0]
        try await Polling.waitUntil("the writes go on") { tally.counts["ok", default: 0] > mark + 50 }
        stop.set()
        await writer.value
        let counts = tally.counts
        print("TLS rotation under load: reconnected with the new files \(reconnected) after the cut; \(counts.sorted { $0.key < $1.key })")
        // Only writes in flight at the cut may fail (they may have run); none failed to connect.
        #expect(Set(counts.keys).isSubset(of: ["ok", GlideError.Code.connectionClosed.description]), "\(counts)")

        // `reloadTLS()` says when the files don't load, and the client keeps what it has.
        try "not a key\n".write(toFile: key + ".bad", atomically: false, encoding: .utf8)
        try Self.replace(key, with: key + ".bad")
        let refused = #expect(throws: GlideError.self) { try client.reloadTLS() }
        #expect(refused?.code == .configuration)
        #expect(try await client.ping() == "PONG")
        try Self.replace(key, with: certificates.otherClientKey)
        try client.reloadTLS()
        await client.close()
        await admin.close()
    }

    @Test func aClientWithoutTLSHasNothingToReload() async throws {
        let client = try await SharedServer.valkey().client()
        let error = #expect(throws: GlideError.self) { try client.reloadTLS() }
        #expect(error?.code == .configuration)
        await client.close()
    }
}
