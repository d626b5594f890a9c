import GlideConnection
import GlideTransport

/// The checks a client's pub/sub settings go through.
enum PubSubSetup {
    /// Checks a configuration's pub/sub settings; `sharded` says whether sharded channels are
    /// allowed (cluster clients only).
    static func validate(_ configuration: PubSubConfiguration, sharded: Bool) throws(GlideError) {
        guard configuration.bufferCapacity > 0 else { throw GlideError(.configuration, "the pub/sub buffer capacity must be positive") }
        guard configuration.checkInterval.map({ $0 > .zero }) ?? true else {
            throw GlideError(.configuration, "the pub/sub check needs a positive interval, or nil to disable it")
        }
        if !sharded && !configuration.subscriptions.sharded.isEmpty {
            throw GlideError(.configuration, "sharded channels are a cluster feature: use GlideClusterClient")
        }
    }
}

/// Where a client's connections hand what concerns pub/sub: their pushes (messages go to the
/// inbox, the server's own unsubscriptions to the synchronizer) and their events. Made before
/// the connections, so it reaches the synchronizer made after them.
///
/// `@unchecked Sendable`: `synchronizer` is set once, right after the synchronizer is made and
/// before any connection connects, so before a push or an event can arrive; after that it is
/// only read.
final class PubSubRelay<Placement: PubSubPlacement>: @unchecked Sendable {
    typealias Connection = NodeConnection<Placement.Loop, Placement.Connector>

    let inbox: PubSubInbox
    weak var synchronizer: PubSubSynchronizer<Placement>?
    /// The client-side cache, which invalidation pushes and lost connections update.
    let cache: ClientSideCacheStore?

    init(inbox: PubSubInbox, cache: ClientSideCacheStore? = nil) {
        self.inbox = inbox
        self.cache = cache
    }

    /// A RESP3 push that is not a reply, from `connection` (on the loop thread).
    func receive(_ push: RESPToken, from connection: Connection) {
        switch PubSubPush(push) {
        case .message(let message):
            inbox.deliver(message)
        case .confirmation(let confirmation, let channel) where !confirmation.subscribing:
            // No command waited for it: the server unsubscribed the connection on its own.
            synchronizer?.serverUnsubscribed(confirmation, channel: channel, on: connection)
        case .other:
            // Invalidations (`CLIENT TRACKING`) belong to the cache.
            cache?.receive(push, from: connection)
        case .malformed:
            // Dropped, whatever their number: a flood of them costs a count each, nothing kept.
            GlideStatistics.malformedPushes.add(1, ordering: .relaxed)
        case .confirmation:
            break
        }
    }

    /// What happened to `connection` (the supervisor's listener, on the loop).
    func connectionChanged(_ connection: Connection, _ event: ConnectionEvent) {
        if case .lost = event { cache?.connectionChanged(connection, lost: true) }
        synchronizer?.connectionChanged(connection, event)
    }

    /// The cluster's topology changed (any thread).
    func topologyChanged() {
        synchronizer?.topologyChanged()
    }
}
