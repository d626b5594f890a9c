public import Foundation
public import Glide

/// Certificates made at test time with the `openssl` CLI, once per test process, in a temporary
/// directory removed at exit:
/// - a CA, and a server certificate it signed for `localhost` and `127.0.0.1`;
/// - a client certificate it signed, for mutual TLS;
/// - a second CA, and a server and a client certificate from it: the first CA's clients must
///   refuse that server, and a rotation moves to them;
/// - an expired server certificate from the first CA.
public final class TestCertificates: Sendable {
    /// The directory holding every file.
    public let directory: URL

    private init(directory: URL) { self.directory = directory }

    /// The path of `name` in the directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The CA certificate clients trust.
    public var caCertificate: String { path("ca.crt") }
    /// The server certificate (`localhost`, `127.0.0.1`) and its key.
    public var serverCertificate: String { path("server.crt") }
    /// The server key.
    public var serverKey: String { path("server.key") }
    /// The client certificate for mutual TLS.
    public var clientCertificate: String { path("client.crt") }
    /// The client key.
    public var clientKey: String { path("client.key") }
    /// A server certificate signed by a CA the clients don't trust.
    public var otherServerCertificate: String { path("other-server.crt") }
    /// Its key.
    public var otherServerKey: String { path("other-server.key") }
    /// The second CA's certificate: what a rotation moves servers and clients to.
    public var otherCACertificate: String { path("other-ca.crt") }
    /// A client certificate the second CA signed.
    public var otherClientCertificate: String { path("other-client.crt") }
    /// Its key.
    public var otherClientKey: String { path("other-client.key") }
    /// A server certificate from the trusted CA that expired yesterday.
    public var expiredServerCertificate: String { path("expired-server.crt") }
    /// Its key.
    public var expiredServerKey: String { path("expired-server.key") }

    /// A client TLS configuration that trusts the test CA.
    public var clientTLS: TLSConfiguration { TLSConfiguration(trustRoots: .file(caCertificate)) }

    /// The CA certificate as PEM text.
    public func caPEM() throws -> String { try String(contentsOfFile: caCertificate, encoding: .utf8) }

    private static let shared = Task { () throws -> TestCertificates in
        // openssl makes RSA keys for seconds: on a thread of its own, not the cooperative pool.
        let made = try await offThePool { try make() }
        lock.withLock { stored = made }
        return made
    }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var stored: TestCertificates?

    /// The certificates, once `shared()` has made them.
    static var made: TestCertificates? { lock.withLock { stored } }

    /// The certificates, made on first use.
    public static func shared() async throws -> TestCertificates { try await shared.value }

    /// The openssl binary: `$OPENSSL`, then `PATH`.
    static func openssl() throws -> String {
        if let path = ServerBinaries.environment("OPENSSL") { return try ServerBinaries.executable(path, variable: "OPENSSL") }
        if let path = ServerBinaries.searchPath("openssl") { return path }
        throw MissingServer(
            "openssl was not found (tried $OPENSSL and PATH). Run `make test`, which installs Debian's "
                + "openssl and libssl-dev, or `apt-get install openssl`."
                + (ServerBinaries.isCI ? " CI=true: the TLS tests fail without it." : ""))
    }

    private static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glide-certs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ServerRegistry.registerDirectory(directory)
        let openssl = try openssl()
        let certificates = TestCertificates(directory: directory)
        func run(_ arguments: [String]) throws {
            let outcome = try Command.run(openssl, arguments, directory: directory)
            guard outcome.status == 0 else {
                throw ServerStartFailure("openssl \(arguments.joined(separator: " ")) failed: \(outcome.output)")
            }
        }
        func authority(_ name: String) throws {
            try run([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).crt",
                "-subj", "/CN=glide test \(name)", "-days", "30",
            ])
        }
        func leaf(_ name: String, signedBy ca: String, days: String, extensions: String) throws {
            try run([
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr",
                "-subj", "/CN=\(name)",
            ])
            try "\(extensions)\n".write(to: directory.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
            try run([
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-CAcreateserial",
                "-out", "\(name).crt", "-days", days, "-extfile", "\(name).ext",
            ])
        }
        let serverNames = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"
        try authority("ca")
        try authority("other-ca")
        try leaf("server", signedBy: "ca", days: "30", extensions: serverNames)
        try leaf("client", signedBy: "ca", days: "30", extensions: "extendedKeyUsage=clientAuth")
        try leaf("other-server", signedBy: "other-ca", days: "30", extensions: serverNames)
        try leaf("other-client", signedBy: "other-ca", days: "30", extensions: "extendedKeyUsage=clientAuth")
        // A negative validity puts notAfter before now: expired from the start.
        try leaf("expired-server", signedBy: "ca", days: "-1", extensions: serverNames)
        return certificates
    }
}
