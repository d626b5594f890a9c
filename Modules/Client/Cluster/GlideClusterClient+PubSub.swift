import GlideConnection
import GlideTransport

extension GlideClusterClient {
    /// Subscribes to `channels` and returns once the server confirmed them. Every node receives
    /// every publication, so the subscriptions live on one primary, and move to another when it
    /// leaves the cluster or goes down. Their messages arrive on `pubsubMessages()` (or the
    /// configured callback). With RESP3 messages share the node's connection; with RESP2
    /// subscriptions get a connection of their own to each node they use.
    ///
    /// A channel the server refuses (an ACL without it) throws `.permissionDenied` or `.server`
    /// and is listed in `getSubscriptions().refused`.
    public func subscribe(_ channels: Set<String>) async throws(GlideError) {
        try await engine.changeSubscriptions(channels, kind: .exact, subscribing: true)
    }

    /// Subscribes to channels matching the glob-style `patterns` (`PSUBSCRIBE`); their messages
    /// carry the pattern they matched.
    public func psubscribe(_ patterns: Set<String>) async throws(GlideError) {
        try await engine.changeSubscriptions(patterns, kind: .pattern, subscribing: true)
    }

    /// Subscribes to sharded `channels` (`SSUBSCRIBE`), each on the primary serving its slot.
    /// A channel follows its slot: to the new owner after a slot migration (the server's own
    /// `sunsubscribe` starts it) and to the promoted replica after a failover.
    public func ssubscribe(_ channels: Set<String>) async throws(GlideError) {
        try await engine.changeSubscriptions(channels, kind: .sharded, subscribing: true)
    }

    /// Unsubscribes from `channels`; an empty set unsubscribes from every channel.
    public func unsubscribe(_ channels: Set<String> = []) async throws(GlideError) {
        try await engine.changeSubscriptions(channels, kind: .exact, subscribing: false)
    }

    /// Unsubscribes from `patterns`; an empty set unsubscribes from every pattern.
    public func punsubscribe(_ patterns: Set<String> = []) async throws(GlideError) {
        try await engine.changeSubscriptions(patterns, kind: .pattern, subscribing: false)
    }

    /// Unsubscribes from sharded `channels`; an empty set unsubscribes from every sharded channel.
    public func sunsubscribe(_ channels: Set<String> = []) async throws(GlideError) {
        try await engine.changeSubscriptions(channels, kind: .sharded, subscribing: false)
    }

    /// The subscriptions the client wants, the ones the servers confirmed, and the refused ones.
    public func getSubscriptions() async -> PubSubState {
        await engine.pubsub.state()
    }

    /// A stream of the messages of the client's subscriptions, each node's in the order it sent
    /// them. Each call returns a new stream that gets every message from then on, so several
    /// consumers each see them all; messages that arrived while no stream was open go to the next
    /// one. It ends when the client is closed, or when its consumer stops iterating. When a
    /// consumer falls `PubSubConfiguration.bufferCapacity` messages behind, its oldest are dropped
    /// and counted in `getStatistics().pubsubMessagesDropped`. Empty when a callback takes the
    /// messages.
    public func pubsubMessages() -> AsyncStream<PubSubMessage> { engine.pubsub.inbox.messages() }

    /// Publishes `message` to `channel`; `sharded` publishes to a sharded channel (`SPUBLISH`,
    /// sent to the primary serving the channel's slot). Returns how many subscribers received
    /// it: on the node that answered, for a non-sharded channel.
    @discardableResult
    public func publish(
        _ message: some BulkStringConvertible, to channel: some BulkStringConvertible,
        sharded: Bool
    ) async throws(GlideError) -> Int {
        sharded ? try await execute(SPUBLISH(channel, message)) : try await execute(PUBLISH(channel, message))
    }
}

extension ClusterEngine {
    /// Subscribes or unsubscribes.
    func changeSubscriptions(_ channels: Set<String>, kind: PubSubKind, subscribing: Bool) async throws(GlideError) {
        if subscribing {
            try await pubsub.subscribe(channels, kind: kind)
        } else {
            try await pubsub.unsubscribe(channels, kind: kind)
        }
    }

    /// Makes the configured subscriptions (at `start`).
    func subscribeConfigured() async throws(GlideError) {
        guard let subscriptions = configuration.pubsub?.subscriptions, !subscriptions.isEmpty else { return }
        try await pubsub.subscribe(subscriptions)
    }
}
