/// How a client sets up TLS: what it trusts, what it presents, and the name it checks.
///
/// The default verifies the server's certificate against the system trust store and checks that
/// it names the host connected to, over TLS 1.2 or later. Turning verification off takes the
/// explicitly named `insecure` configuration. A TLS failure never falls back to plain text.
///
/// ```swift
/// var tls = TLSConfiguration(trustRoots: .file("/etc/valkey/ca.crt"))
/// tls.certificateChain = .file("/etc/valkey/client.crt")   // mutual TLS
/// tls.privateKey = .file("/etc/valkey/client.key")
/// ```
public struct TLSConfiguration: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where PEM data comes from.
    public enum PEMSource: Hashable, Sendable {
        /// PEM text held in memory.
        case pem(String)
        /// A PEM file, read when the client is created.
        case file(String)
    }

    /// Whether the server's certificate is checked.
    public enum Verification: Hashable, Sendable {
        /// The chain must lead to a trusted root and the certificate must name the server.
        case full
        /// Nothing is checked: any certificate, from anyone, is accepted. Traffic is encrypted
        /// but the server is not authenticated.
        case insecureNoVerification
    }

    /// The lowest TLS version negotiated.
    public enum Version: Hashable, Sendable, Comparable {
        /// TLS 1.2.
        case tls12
        /// TLS 1.3.
        case tls13
    }

    /// The certificate authorities trusted, replacing the system store; `nil` trusts the system
    /// store (`/etc/ssl/certs` on Debian).
    public var trustRoots: PEMSource?
    /// The client certificate (and any intermediates after it), for servers that require one.
    public var certificateChain: PEMSource?
    /// The private key of `certificateChain`. Never shown in `description`.
    public var privateKey: PEMSource?
    /// The name sent as SNI and checked against the certificate; `nil` uses the host connected to.
    /// An IP address is checked against the certificate's IP entries and is never sent as SNI.
    public var serverName: String?
    /// The lowest TLS version accepted; TLS 1.2 by default.
    public var minimumVersion: Version
    /// Whether the server's certificate is verified; `.full` by default.
    public var verification: Verification

    /// A configuration; the defaults verify against the system trust store over TLS 1.2 or later.
    public init(
        trustRoots: PEMSource? = nil, certificateChain: PEMSource? = nil, privateKey: PEMSource? = nil,
        serverName: String? = nil, minimumVersion: Version = .tls12, verification: Verification = .full
    ) {
        self.trustRoots = trustRoots
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.serverName = serverName
        self.minimumVersion = minimumVersion
        self.verification = verification
    }

    /// Encryption without authenticating the server: for tests and for servers whose certificate
    /// can't be checked. Anyone on the path can pose as the server.
    public static var insecure: TLSConfiguration { TLSConfiguration(verification: .insecureNoVerification) }

    /// What is configured, with in-memory PEM shown by size only and the private key redacted.
    public var description: String {
        func show(_ source: PEMSource?) -> String {
            switch source {
            case nil: return "none"
            case .pem(let text)?: return "PEM (\(text.utf8.count) bytes)"
            case .file(let path)?: return "file \(path)"
            }
        }
        var parts = [
            "verification: \(verification == .full ? "full" : "insecure (none)")",
            "trustRoots: \(trustRoots == nil ? "system" : show(trustRoots))",
            "minimumVersion: \(minimumVersion == .tls12 ? "TLS 1.2" : "TLS 1.3")",
        ]
        if certificateChain != nil { parts.append("certificateChain: \(show(certificateChain))") }
        if privateKey != nil { parts.append("privateKey: <redacted>") }
        if let serverName { parts.append("serverName: \(serverName)") }
        return "TLSConfiguration(\(parts.joined(separator: ", ")))"
    }

    /// The same as `description`: the key stays redacted.
    public var debugDescription: String { description }

    /// The description alone, so `dump` and debuggers don't show the key either.
    public var customMirror: Mirror { Mirror(self, children: ["configuration": description]) }
}
