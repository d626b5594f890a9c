public import GlideTransport

/// The TLS context a client's connections are made with, replaceable while the client runs.
///
/// Each new connection asks for `current()`. When a file the context was built from (trust
/// roots, client certificate, key) changed since, the context is built again first, so rotated
/// certificates reach new connections without a restart; connections already open keep the
/// context they were made with. `reload()` rebuilds at once and says what failed. A rebuild that
/// fails (a rotation caught halfway, a certificate without its new key) keeps the context in use,
/// and the next connection tries again.
public final class TLSContextProvider: Sendable {
    /// The configuration the contexts are built from.
    public let configuration: TLSConfiguration
    private let state: Lock<(context: TLSContext, stamps: [FileStamp?])>

    /// Builds the first context; throws `.tlsConfigurationInvalid` as `TLSContext` does.
    public init(_ configuration: TLSConfiguration) throws(TransportError) {
        self.configuration = configuration
        let stamps = Self.stamps(of: configuration)
        state = Lock((try TLSContext(configuration), stamps))
    }

    /// The context for a new connection: rebuilt first when one of `files` changed.
    public func current() -> TLSContext {
        let (context, stamps) = state.withLock { ($0.context, $0.stamps) }
        let now = Self.stamps(of: configuration)
        guard now != stamps else { return context }
        // Built outside the lock: reading PEM files takes time, and connects must not queue on it.
        guard let rebuilt = try? TLSContext(configuration) else { return context }
        return state.withLock { state in
            // Another connection may have rebuilt it meanwhile: the newer files win either way.
            state = (rebuilt, now)
            return rebuilt
        }
    }

    /// Rebuilds the context from the configuration now; on failure the context in use stays and
    /// the error says what did not load.
    public func reload() throws(TransportError) {
        let stamps = Self.stamps(of: configuration)
        let rebuilt = try TLSContext(configuration)
        state.withLock { $0 = (rebuilt, stamps) }
    }

    /// Every file source's stamp, in a fixed order.
    private static func stamps(of configuration: TLSConfiguration) -> [FileStamp?] {
        [configuration.trustRoots, configuration.certificateChain, configuration.privateKey].map { source in
            if case .file(let path) = source { return FileStamp.of(path) }
            return nil
        }
    }
}
