/// The subscriptions a client holds: exact channels, patterns, and (cluster only) sharded
/// channels. Given in a configuration, they are made as the client connects and again after
/// every reconnection.
public struct PubSubSubscriptions: Sendable, Hashable {
    /// Channels subscribed to by name (`SUBSCRIBE`).
    public var exact: Set<String>
    /// Glob-style patterns (`PSUBSCRIBE`).
    public var pattern: Set<String>
    /// Sharded channels (`SSUBSCRIBE`), served by the shard that owns the channel's slot.
    public var sharded: Set<String>

    /// Subscriptions to `exact` channels, `pattern`s and `sharded` channels.
    public init(exact: Set<String> = [], pattern: Set<String> = [], sharded: Set<String> = []) {
        self.exact = exact
        self.pattern = pattern
        self.sharded = sharded
    }

    /// Whether there is none.
    public var isEmpty: Bool { exact.isEmpty && pattern.isEmpty && sharded.isEmpty }
}
