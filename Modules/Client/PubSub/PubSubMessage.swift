import GlideTransport

/// A message published to a channel the client subscribed to.
public struct PubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public let channel: Bytes
    /// The pattern it matched, for a pattern subscription (`psubscribe`); `nil` otherwise.
    public let pattern: Bytes?
    /// What was published.
    public let payload: Bytes
    /// Whether it came through a sharded subscription (`SSUBSCRIBE`).
    public let sharded: Bool

    /// A message as delivered.
    public init(channel: Bytes, pattern: Bytes? = nil, payload: Bytes, sharded: Bool = false) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
        self.sharded = sharded
    }

    /// The payload as UTF-8 text.
    public var message: String { payload.string }
    /// The channel's name as UTF-8 text.
    public var channelName: String { channel.string }
    /// The pattern as UTF-8 text, for a pattern subscription.
    public var patternName: String? { pattern?.string }
}

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

/// The kinds of subscription, and their commands.
enum PubSubKind: Sendable, Hashable, CaseIterable {
    /// `SUBSCRIBE`: a channel by name.
    case exact
    /// `PSUBSCRIBE`: channels matching a pattern.
    case pattern
    /// `SSUBSCRIBE`: a sharded channel.
    case sharded

    /// The command that subscribes.
    var subscribeCommand: StaticString {
        switch self {
        case .exact: "SUBSCRIBE"
        case .pattern: "PSUBSCRIBE"
        case .sharded: "SSUBSCRIBE"
        }
    }

    /// The command that unsubscribes.
    var unsubscribeCommand: StaticString {
        switch self {
        case .exact: "UNSUBSCRIBE"
        case .pattern: "PUNSUBSCRIBE"
        case .sharded: "SUNSUBSCRIBE"
        }
    }
}

/// What a RESP3 push on a connection is: a published message, a subscription's confirmation,
/// or another kind (invalidations, for client-side caching).
enum PubSubPush: Equatable {
    case message(PubSubMessage)
    /// `subscribe`, `unsubscribe` and their pattern and sharded forms: the channel, and the
    /// count of subscriptions the connection has after it.
    case confirmation(kind: String, channel: Bytes?)
    case other

    private static let confirmations: Set<String> = [
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
    ]

    /// Whether `push` confirms a subscription command (rare path: a push is never a reply).
    static func isConfirmation(_ push: RESPToken) -> Bool {
        if case .confirmation = PubSubPush(push) { return true }
        return false
    }

    init(_ push: RESPToken) {
        guard let elements = push.elements, case let parts = Array(elements),
              let kind = parts.first?.stringBytes?.string.lowercased() else {
            self = .other
            return
        }
        switch kind {
        case "message", "smessage":
            guard parts.count == 3, let channel = parts[1].stringBytes, let payload = parts[2].stringBytes else {
                self = .other
                return
            }
            self = .message(PubSubMessage(channel: channel, payload: payload, sharded: kind == "smessage"))
        case "pmessage":
            guard parts.count == 4, let pattern = parts[1].stringBytes, let channel = parts[2].stringBytes,
                  let payload = parts[3].stringBytes else {
                self = .other
                return
            }
            self = .message(PubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case _ where Self.confirmations.contains(kind):
            self = .confirmation(kind: kind, channel: parts.count > 1 ? parts[1].stringBytes : nil)
        default:
            self = .other
        }
    }
}
