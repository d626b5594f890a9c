import GlideConnection
import GlideTransport

extension GlideClient {
    /// Subscribes to `channels` and returns once the server confirmed them. Their messages
    /// arrive on `pubsubMessages()` (or the configured callback), and the subscriptions are made
    /// again after every reconnection.
    ///
    /// A channel the server refuses (an ACL without it) throws `.permissionDenied` (or `.server`)
    /// and is listed in `getSubscriptions().refused`. With RESP3 messages share the client's
    /// connection; with RESP2 subscriptions get a connection of their own.
    public func subscribe(_ channels: Set<String>) async throws(GlideError) {
        try await changeSubscriptions(channels, kind: .exact, subscribing: true)
    }

    /// Subscribes to channels matching the glob-style `patterns` (`PSUBSCRIBE`); their messages
    /// carry the pattern they matched.
    public func psubscribe(_ patterns: Set<String>) async throws(GlideError) {
        try await changeSubscriptions(patterns, kind: .pattern, subscribing: true)
    }

    /// Unsubscribes from `channels`; an empty set unsubscribes from every channel.
    public func unsubscribe(_ channels: Set<String> = []) async throws(GlideError) {
        try await changeSubscriptions(channels, kind: .exact, subscribing: false)
    }

    /// Unsubscribes from `patterns`; an empty set unsubscribes from every pattern.
    public func punsubscribe(_ patterns: Set<String> = []) async throws(GlideError) {
        try await changeSubscriptions(patterns, kind: .pattern, subscribing: false)
    }

    /// The subscriptions the client wants, the ones the server confirmed, and the refused ones.
    public func getSubscriptions() async -> PubSubState {
        await pubsub.state()
    }

    /// A stream of the messages of the client's subscriptions, in the order the server sent them.
    /// Each call returns a new stream that gets every message from then on, so several consumers
    /// each see them all; messages that arrived while no stream was open go to the next one. It
    /// ends when the client is closed, or when its consumer stops iterating. When a consumer falls
    /// `PubSubConfiguration.bufferCapacity` messages behind, its oldest are dropped and counted
    /// in `getStatistics().pubsubMessagesDropped`. Empty when a callback takes the messages.
    public func pubsubMessages() -> AsyncStream<PubSubMessage> { pubsub.inbox.messages() }

    /// Makes the configured subscriptions (at `create`).
    func subscribeConfigured() async throws(GlideError) {
        guard let subscriptions = configuration.pubsub?.subscriptions else { return }
        try await pubsub.subscribe(subscriptions)
    }

    private func changeSubscriptions(_ channels: Set<String>, kind: PubSubKind, subscribing: Bool) async throws(GlideError) {
        if subscribing {
            try await pubsub.subscribe(channels, kind: kind)
        } else {
            try await pubsub.unsubscribe(channels, kind: kind)
        }
    }
}
