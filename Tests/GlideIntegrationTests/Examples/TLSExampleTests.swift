import GlideTestSupport
import Testing

/// `Examples/tls` (`make tls-demo`) against redis-server with TLS only and a password: a verified
/// connection, then the typed refusals of a client without the CA (its reason whole) and of a
/// wrong password.
@Suite(.timeLimit(.minutes(5))) struct TLSExampleTests {
    @Test func aVerifiedConnectionThenTwoTypedRefusals() async throws {
        let certificates = try await TestCertificates.shared()
        let server = try await TestServer.startRedisTLS(certificates, ["--requirepass", "demo-password"])
        defer { server.stop() }
        let output = try await GlideCLITests.run(
            try ServerBinaries.product("tls"), ["127.0.0.1", String(server.port), certificates.caCertificate, "demo-password"])
        #expect(
            output.split(separator: "\n").map(String.init) == [
                "GET secret -> sent over TLS",
                #"CLIENT INFO -> ["name=tls-example", "user=default"]"#,
                "without the CA -> TLS failure (could not connect: TLS: certificate not trusted: TLS handshake: "
                    + "self-signed certificate in certificate chain)",
                "wrong password -> authentication failed",
            ], "\(output)")
    }
}
