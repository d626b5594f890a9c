import GlideTLS
import GlideTransport

/// The checks and preparations both clients' `create` share.
enum ClientSetup {
    /// Checks the settings both configurations have; each client checks its own on top.
    static func validate(addresses: [NodeAddress], useTLS: Bool, tlsConfiguration: TLSConfiguration?,
                         requestTimeout: Duration, connectionTimeout: Duration, inflightRequestsLimit: Int,
                         databaseID: Int, clientName: String?) throws(GlideError) {
        func invalid(_ message: String) -> GlideError { GlideError(.configuration, message) }
        for address in addresses where !address.isUnixSocket {
            guard (1...65535).contains(address.port) else { throw invalid("port \(address.port) of \(address.host) is out of range") }
            guard !address.host.isEmpty else { throw invalid("an address has an empty host name") }
        }
        if tlsConfiguration != nil && !useTLS {
            throw invalid("tlsConfiguration is set but useTLS is false: set useTLS to connect with TLS")
        }
        guard requestTimeout > .zero else { throw invalid("requestTimeout must be positive") }
        guard connectionTimeout > .zero else { throw invalid("connectionTimeout must be positive") }
        guard inflightRequestsLimit > 0 else { throw invalid("inflightRequestsLimit must be positive") }
        guard databaseID >= 0 else { throw invalid("databaseID must not be negative") }
        if let name = clientName, name.contains(where: { $0 == " " || $0 == "\n" }) {
            throw invalid("clientName must not contain spaces or newlines")
        }
    }

    /// The TLS context for `useTLS`, built once: a certificate or key that does not load fails
    /// `create` with `.configuration` before anything connects.
    static func tlsContext(useTLS: Bool, _ configuration: TLSConfiguration?) throws(GlideError) -> TLSContext? {
        guard useTLS else { return nil }
        do {
            return try TLSContext(configuration ?? TLSConfiguration())
        } catch {
            throw GlideError(.configuration, "TLS can't be set up: \(error)", transportError: error)
        }
    }
}
