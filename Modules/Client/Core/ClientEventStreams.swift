import GlideConnection

extension GlideClient {
    /// A stream of what happens to the client's connections and nodes: connections ready and
    /// lost, failed connection attempts with the delay before the next, a failover to another
    /// primary, subscriptions made again, the client-side cache flushed, a node's circuit breaker
    /// opening and closing (`GlideEvent`).
    ///
    /// Each call returns a new stream that gets every event from then on; events that happen while
    /// no stream is open are not kept. Each stream holds up to 1,000 events its consumer has not
    /// taken; beyond that the oldest are dropped and counted in `getStatistics().eventsDropped`.
    /// It ends when the client is closed, or when its consumer stops iterating. The same events
    /// reach the observability hooks (`glide.events` by kind, and the log).
    public func events() -> AsyncStream<GlideEvent> { core.eventStream.stream() }
}

extension GlideClusterClient {
    /// A stream of what happens to the client's connections and its view of the cluster:
    /// connections ready and lost, failed connection attempts with the delay before the next,
    /// nodes added and removed, slot ranges moved to another primary, failovers (a replica that
    /// became its shard's primary), subscriptions made again, the client-side cache flushed, a
    /// node's circuit breaker opening and closing (`GlideEvent`).
    ///
    /// Each call returns a new stream that gets every event from then on; events that happen while
    /// no stream is open are not kept. Each stream holds up to 1,000 events its consumer has not
    /// taken; beyond that the oldest are dropped and counted in `getStatistics().eventsDropped`.
    /// It ends when the client is closed, or when its consumer stops iterating. The same events
    /// reach the observability hooks (`glide.events` by kind, and the log).
    public func events() -> AsyncStream<GlideEvent> { engine.core.eventStream.stream() }
}
