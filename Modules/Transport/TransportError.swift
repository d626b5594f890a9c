/// A failure to connect, read or write.
///
/// A public struct over a private code, so new codes never break callers; match on `kind`.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed, for matching.
    public let kind: Kind
    /// The system call that failed, if one did.
    public let syscall: String?
    /// The error number the system call set, if one did.
    public let errno: Errno?
    /// More detail: the address, the host name, the limit that was hit.
    public let detail: String?

    /// An error of `kind`, optionally with the failing call, its errno and a detail.
    public init(_ kind: Kind, syscall: String? = nil, errno: Errno? = nil, detail: String? = nil) {
        self.kind = kind
        self.syscall = syscall
        self.errno = errno
        self.detail = detail
    }

    /// The kinds of transport failure.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The name of the kind.
        public let description: String

        /// A system call failed; `syscall` and `errno` say which and why.
        public static let systemCall = Kind(description: "system call failed")
        /// A connection could not be established: refused, unreachable, reset during the handshake.
        public static let connectFailed = Kind(description: "connect failed")
        /// Establishing the connection took longer than allowed.
        public static let connectTimedOut = Kind(description: "connect timed out")
        /// The host name could not be resolved.
        public static let resolutionFailed = Kind(description: "host name resolution failed")
        /// The address is malformed or of an unsupported family.
        public static let invalidAddress = Kind(description: "invalid address")
        /// The peer closed the connection, or it was reset.
        public static let connectionClosed = Kind(description: "connection closed")
        /// The stream was closed on this side.
        public static let streamClosed = Kind(description: "stream closed locally")
        /// The stream does not support what was asked, e.g. epoll registration of a memory stream.
        public static let unsupported = Kind(description: "unsupported operation")
        /// The task waiting for the operation (a connect, a handshake) was cancelled.
        public static let cancelled = Kind(description: "cancelled")

        /// TLS: the server's certificate chain does not lead to a trusted certificate authority.
        public static let tlsUntrustedCertificate = Kind(description: "TLS: certificate not trusted", isTLS: true)
        /// TLS: the server's certificate does not name the host (or the name given to verify).
        public static let tlsHostNameMismatch = Kind(description: "TLS: host name mismatch", isTLS: true)
        /// TLS: a certificate in the chain has expired or is not valid yet.
        public static let tlsCertificateExpired = Kind(description: "TLS: certificate expired or not yet valid", isTLS: true)
        /// TLS: the server required a client certificate, or rejected the one sent.
        public static let tlsClientCertificateRejected = Kind(description: "TLS: client certificate required or rejected", isTLS: true)
        /// TLS: the peers could not agree (version, ciphers), or the peer does not speak TLS.
        public static let tlsProtocolFailure = Kind(description: "TLS: protocol failure", isTLS: true)
        /// TLS: the configuration can't be used (a certificate or key that does not load).
        public static let tlsConfigurationInvalid = Kind(description: "TLS: invalid configuration", isTLS: true)

        /// Whether this is one of the TLS kinds.
        public let isTLS: Bool

        /// A kind named `description`; transports layered on this one define their own.
        public init(description: String, isTLS: Bool = false) {
            self.description = description
            self.isTLS = isTLS
        }
    }

    /// The kind, the detail, and the system call and errno that caused it.
    public var description: String {
        var text = kind.description
        if let detail { text += ": \(detail)" }
        if let syscall { text += " (\(syscall)" + (errno.map { ": \($0)" } ?? "") + ")" }
        return text
    }
}
