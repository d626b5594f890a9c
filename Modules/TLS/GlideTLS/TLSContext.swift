import CGlideTLS
import Glibc
public import GlideTransport

/// An OpenSSL client context built once from a `TLSConfiguration`: the trust store, the client
/// certificate and key, the version floor. Every connection of a client makes its session from it.
///
/// Creating it reads the PEM data, so a missing file or a bad key fails here, with
/// `.tlsConfigurationInvalid`, before any connection is tried. OpenSSL allows sessions to be made
/// from one context on several threads at once.
public final class TLSContext: @unchecked Sendable {
    /// The configuration it was built from.
    public let configuration: TLSConfiguration
    let context: OpaquePointer

    /// Builds the context; throws `.tlsConfigurationInvalid` naming what did not load.
    public init(_ configuration: TLSConfiguration) throws(TransportError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSFailure.configuration("OpenSSL could not create a context")
        }
        self.configuration = configuration
        self.context = context
        if configuration.serverName?.isEmpty == true {
            // OpenSSL would take an empty name as "check no name", silently.
            throw TLSFailure.configuration("serverName is empty: give the name to check, or nil for the host connected to")
        }
        let floor = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard CGlideTLS_CTX_set_min_proto_version(context, floor) == 1 else {
            throw TLSFailure.configuration("OpenSSL refused the minimum TLS version")
        }
        // The stream offers OpenSSL plaintext from buffers that move between calls.
        _ = CGlideTLS_CTX_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        CGlideTLS_CTX_disable_renegotiation(context)

        switch configuration.verification {
        case .full:
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let roots = configuration.trustRoots {
                try loadTrustRoots(roots)
            } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                throw TLSFailure.configuration("the system trust store could not be loaded")
            }
        case .insecureNoVerification:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }

        switch (configuration.certificateChain, configuration.privateKey) {
        case (nil, nil):
            break
        case (let chain?, let key?):
            try loadClientIdentity(chain: chain, key: key)
        default:
            throw TLSFailure.configuration("a client certificate needs its private key, and a key its certificate")
        }
    }

    deinit { SSL_CTX_free(context) }

    private func loadTrustRoots(_ source: TLSConfiguration.PEMSource) throws(TransportError) {
        let certificates = try Self.certificates(from: source, what: "trust roots")
        defer { for certificate in certificates { X509_free(certificate) } }
        let store = SSL_CTX_get_cert_store(context)
        for certificate in certificates where X509_STORE_add_cert(store, certificate) != 1 {
            // A root given twice is not a failure; anything else is.
            let reason = CGlideTLS_error_reason(ERR_peek_last_error())
            if reason != X509_R_CERT_ALREADY_IN_HASH_TABLE {
                throw TLSFailure.configuration("a trust root could not be added: \(TLSFailure.drainErrors())")
            }
        }
        ERR_clear_error()
    }

    private func loadClientIdentity(chain: TLSConfiguration.PEMSource, key: TLSConfiguration.PEMSource) throws(TransportError) {
        let certificates = try Self.certificates(from: chain, what: "client certificate")
        defer { for certificate in certificates { X509_free(certificate) } }
        guard SSL_CTX_use_certificate(context, certificates[0]) == 1 else {
            throw TLSFailure.configuration("the client certificate was refused: \(TLSFailure.drainErrors())")
        }
        for intermediate in certificates.dropFirst() {
            // add_extra_chain_cert takes ownership: hand it a reference of its own.
            X509_up_ref(intermediate)
            guard SSL_CTX_ctrl(context, SSL_CTRL_EXTRA_CHAIN_CERT, 0, UnsafeMutableRawPointer(intermediate)) == 1 else {
                X509_free(intermediate)
                throw TLSFailure.configuration("an intermediate certificate was refused: \(TLSFailure.drainErrors())")
            }
        }
        let bio = try Self.open(key, what: "private key")
        defer { BIO_free(bio) }
        guard let privateKey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            // OpenSSL's message could quote nothing of the key, but keep it out all the same.
            ERR_clear_error()
            throw TLSFailure.configuration("the private key is not a readable, unencrypted PEM key")
        }
        defer { EVP_PKEY_free(privateKey) }
        guard SSL_CTX_use_PrivateKey(context, privateKey) == 1, SSL_CTX_check_private_key(context) == 1 else {
            ERR_clear_error()
            throw TLSFailure.configuration("the private key does not match the client certificate")
        }
    }

    /// Every certificate in `source`, in order; at least one.
    static func certificates(from source: TLSConfiguration.PEMSource, what: String) throws(TransportError) -> [OpaquePointer] {
        let bio = try open(source, what: what)
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        // Reading stops with an end-of-data error once the last certificate is read.
        ERR_clear_error()
        guard !certificates.isEmpty else {
            throw TLSFailure.configuration("the \(what) hold no PEM certificate")
        }
        return certificates
    }

    /// A BIO over in-memory PEM text (copied, so the text need not outlive it) or a file.
    static func open(_ source: TLSConfiguration.PEMSource, what: String) throws(TransportError) -> OpaquePointer {
        switch source {
        case .pem(let text):
            guard let bio = BIO_new(BIO_s_mem()) else { throw TLSFailure.configuration("OpenSSL could not allocate") }
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
            return bio
        case .file(let path):
            guard let bio = BIO_new_file(path, "r") else {
                ERR_clear_error()
                throw TLSFailure.configuration("the \(what) file \(path) can't be read")
            }
            return bio
        }
    }

    /// A new session for one connection to `host`: SNI and name checks set up as configured.
    func makeSession(host: String) throws(TransportError) -> OpaquePointer {
        guard let ssl = SSL_new(context) else { throw TLSFailure.configuration("OpenSSL could not create a session") }
        let name = configuration.serverName ?? host
        let isAddress = Self.isIPAddress(name)
        // SNI carries host names only (RFC 6066): never an address, never a Unix socket path.
        if !isAddress && !name.isEmpty && !name.hasPrefix("/") {
            guard CGlideTLS_set_tlsext_host_name(ssl, name) == 1 else {
                SSL_free(ssl)
                throw TLSFailure.configuration("the server name \(name) can't be sent as SNI")
            }
        }
        if configuration.verification == .full {
            let parameters = SSL_get0_param(ssl)
            let accepted = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(parameters, name) : SSL_set1_host(ssl, name)
            guard accepted == 1 else {
                SSL_free(ssl)
                throw TLSFailure.configuration("the server name \(name) can't be checked against a certificate")
            }
        }
        return ssl
    }

    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
