// TLS: connect with the server's certificate verified against a private CA, authenticate, and
// see what the connection negotiated; then show that a client that doesn't trust the CA is
// refused with a typed error, never downgraded to plain text.
// Usage: tls host port ca-certificate [password] (the password also from TLS_DEMO_PASSWORD)
// `make tls-demo` makes a CA and a server certificate with openssl, starts redis-server with TLS
// only and a password, and runs this against it.
import Foundation
import Glide

/// How `create` refused `configuration`; `nil` if it connected (which it must not).
func refusal(of configuration: GlideClientConfiguration) async -> GlideError? {
    do {
        let client = try await GlideClient.create(configuration)
        await client.close()
        return nil
    } catch {
        return error
    }
}

/// The example, in a function rather than top-level code: a long interpolated string made in
/// top-level async code is never freed (LeakSanitizer reports it in `make asan`).
func main() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count > 3, let port = Int(arguments[2]) else {
        print("usage: tls host port ca-certificate [password]")
        exit(2)
    }
    let host = arguments[1]
    let caCertificate = arguments[3]
    let password = arguments.count > 4 ? arguments[4] : ProcessInfo.processInfo.environment["TLS_DEMO_PASSWORD"]

    var configuration = GlideClientConfiguration(addresses: [NodeAddress(host: host, port: port)])
    configuration.useTLS = true
    configuration.tlsConfiguration = TLSConfiguration(trustRoots: .file(caCertificate))
    configuration.credentials = password.map { ServerCredentials(password: $0) }
    configuration.clientName = "tls-example"

    let client = try await GlideClient.create(configuration)
    try await client.set("secret", "sent over TLS")
    let value: String? = try await client.get("secret")
    print("GET secret ->", value ?? "(nil)")
    let info = try await client.customCommand(["CLIENT", "INFO"])
    print("CLIENT INFO ->", info.stringValue?.split(separator: " ").filter { $0.hasPrefix("name=") || $0.hasPrefix("user=") } ?? [])
    await client.close()

    // The system trust store doesn't know this private CA: the handshake fails, typed.
    var untrusting = configuration
    untrusting.tlsConfiguration = nil
    guard let untrusted = await refusal(of: untrusting) else {
        print("unexpected: a client without the CA connected")
        exit(1)
    }
    print("without the CA ->", untrusted.code, "(\(untrusted.message))")

    // Wrong password: refused, typed, over the same verified TLS.
    var wrongPassword = configuration
    wrongPassword.credentials = ServerCredentials(password: "not-the-password")
    guard let refused = await refusal(of: wrongPassword) else {
        print("unexpected: a wrong password was accepted")
        exit(1)
    }
    print("wrong password ->", refused.code)
}

try await main()
