import GlideConnection
import GlideTLS
import GlideTransport

extension ClientCore {
    /// Builds the TLS context again from the configuration's files, for the connections made
    /// from now on (`TLSContextProvider.reload()`).
    func reloadTLS() throws(GlideError) {
        guard let tls else { throw GlideError(.configuration, "the client does not use TLS (useTLS is false)") }
        do {
            try tls.reload()
        } catch {
            throw GlideError(
                .configuration, "the TLS material can't be reloaded; connections keep the last that loaded: \(error)", transportError: error
            )
        }
    }
}

extension GlideClient {
    /// Reads the TLS files of the configuration (trust roots, client certificate, key) again now,
    /// for every connection made from now on; the open ones keep theirs. The client also does this
    /// by itself when a file changed before it opens a connection. Throws `.configuration` when
    /// the files don't load, and keeps using the last material that did.
    public func reloadTLS() throws(GlideError) { try core.reloadTLS() }
}

extension GlideClusterClient {
    /// Reads the TLS files of the configuration (trust roots, client certificate, key) again now,
    /// for every connection made from now on; the open ones keep theirs. The client also does this
    /// by itself when a file changed before it opens a connection. Throws `.configuration` when
    /// the files don't load, and keeps using the last material that did.
    public func reloadTLS() throws(GlideError) { try core.reloadTLS() }
}
