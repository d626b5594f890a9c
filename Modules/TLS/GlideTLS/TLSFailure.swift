import CGlideTLS
public import GlideTransport

/// Turns OpenSSL's failures into typed transport errors that say why.
public enum TLSFailure {
    /// A configuration that can't be used.
    static func configuration(_ message: String) -> TransportError {
        TransportError(.tlsConfigurationInvalid, detail: message)
    }

    /// Empties OpenSSL's error queue on this thread and returns its messages, oldest first.
    static func drainErrors() -> String {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no detail from OpenSSL" : messages.joined(separator: "; ")
    }

    /// The error for a session that failed with `SSL_ERROR_SSL`, read from its verification
    /// result (when the peer is verified) and the error queue, which it empties.
    static func classify(session ssl: OpaquePointer, verified: Bool, during phase: String) -> TransportError {
        let verifyResult = SSL_get_verify_result(ssl)
        if verified && verifyResult != X509_V_OK {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verifyResult))
            return TransportError(kind(ofVerifyResult: Int32(verifyResult)), detail: "\(phase): \(reason)")
        }
        let first = ERR_peek_error()
        let detail = drainErrors()
        let reason = CGlideTLS_error_reason(first)
        switch reason {
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_RECORD_LENGTH_MISMATCH:
            return TransportError(
                .tlsProtocolFailure, detail: "\(phase): the server did not answer in TLS; is TLS enabled on that port? (\(detail))")
        default:
            return TransportError(kind(ofReason: reason), detail: "\(phase): \(detail)")
        }
    }

    /// The kind for a certificate verification result.
    public static func kind(ofVerifyResult result: Int32) -> TransportError.Kind {
        switch result {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH, X509_V_ERR_EMAIL_MISMATCH:
            return .tlsHostNameMismatch
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            return .tlsCertificateExpired
        default:
            return .tlsUntrustedCertificate
        }
    }

    /// The kind for the reason of an OpenSSL error: the alerts a server sends about the client's
    /// certificate, or a protocol failure.
    public static func kind(ofReason reason: Int32) -> TransportError.Kind {
        switch reason {
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
            SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_TLSV1_ALERT_UNKNOWN_CA,
            SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
            SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return .tlsClientCertificateRejected
        default:
            return .tlsProtocolFailure
        }
    }
}
