import GlideTransport

/// The checks a client's pub/sub settings go through.
enum PubSubSetup {
    /// Subscriptions need RESP3: their confirmations and messages arrive as pushes on the shared
    /// connection.
    static func checkProtocol(_ version: ProtocolVersion) throws(GlideError) {
        guard version == .resp3 else {
            throw GlideError(.configuration, "pub/sub needs protocolVersion .resp3: with RESP2 a subscribed connection "
                             + "can't serve other requests, and a dedicated subscriber connection is not built yet")
        }
    }

    /// Checks a configuration's pub/sub settings; `sharded` says whether sharded channels are
    /// allowed (cluster clients only).
    static func validate(_ configuration: PubSubConfiguration, protocolVersion: ProtocolVersion, sharded: Bool) throws(GlideError) {
        guard configuration.bufferCapacity > 0 else { throw GlideError(.configuration, "the pub/sub buffer capacity must be positive") }
        guard configuration.checkInterval.map({ $0 > .zero }) ?? true else {
            throw GlideError(.configuration, "the pub/sub check needs a positive interval, or nil to disable it")
        }
        if !sharded && !configuration.subscriptions.sharded.isEmpty {
            throw GlideError(.configuration, "sharded channels are a cluster feature: use GlideClusterClient")
        }
        if !configuration.subscriptions.isEmpty { try checkProtocol(protocolVersion) }
    }
}

/// Lets the supervisor's listener, made before the synchronizer, reach it.
///
/// `@unchecked Sendable`: the reference is set once, right after the core is made and before any
/// connection exists, so before the listener can run; after that it is only read.
final class PubSubTargets: @unchecked Sendable {
    weak var synchronizer: PubSubSynchronizer<EpollEventLoop, SocketConnector>?
}
