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

/// The kinds of subscription, and their commands.
public enum PubSubKind: Sendable, Hashable, CaseIterable {
    /// `SUBSCRIBE`: a channel by name.
    case exact
    /// `PSUBSCRIBE`: channels matching a pattern.
    case pattern
    /// `SSUBSCRIBE`: a sharded channel.
    case sharded

    /// The command that subscribes.
    public var subscribeCommand: StaticString {
        switch self {
        case .exact: "SUBSCRIBE"
        case .pattern: "PSUBSCRIBE"
        case .sharded: "SSUBSCRIBE"
        }
    }

    /// The command that unsubscribes.
    public var unsubscribeCommand: StaticString {
        switch self {
        case .exact: "UNSUBSCRIBE"
        case .pattern: "PUNSUBSCRIBE"
        case .sharded: "SUNSUBSCRIBE"
        }
    }
}

/// What confirms a subscription command: a push naming the command's kind, and whether it
/// subscribes or unsubscribes (`ssubscribe`, `punsubscribe`, …), one per channel.
public struct PubSubConfirmation: Equatable, Sendable {
    /// The kind of subscription confirmed.
    public var kind: PubSubKind
    /// Whether it confirms a subscription (or an unsubscription).
    public var subscribing: Bool

    /// The confirmation named `name` (lowercase), if it is one.
    public init?(name: String) {
        switch name {
        case "subscribe": (kind, subscribing) = (.exact, true)
        case "psubscribe": (kind, subscribing) = (.pattern, true)
        case "ssubscribe": (kind, subscribing) = (.sharded, true)
        case "unsubscribe": (kind, subscribing) = (.exact, false)
        case "punsubscribe": (kind, subscribing) = (.pattern, false)
        case "sunsubscribe": (kind, subscribing) = (.sharded, false)
        default: return nil
        }
    }

    /// The confirmation of `kind`'s subscribe (or unsubscribe) command.
    public init(kind: PubSubKind, subscribing: Bool) {
        self.kind = kind
        self.subscribing = subscribing
    }
}

/// What a RESP3 push on a connection is: a published message, a subscription's confirmation,
/// another kind (invalidations, for client-side caching), or malformed.
package enum PubSubPush: Equatable {
    case message(PubSubMessage)
    /// A subscription command's confirmation, for `channel`.
    case confirmation(PubSubConfirmation, channel: Bytes?)
    /// A well-formed push of another kind.
    case other
    /// Not a push any server sends: no kind, or a message of the wrong shape. Counted and dropped.
    case malformed

    /// The confirmation `push` is, if any (rare path: a push is never a reply).
    package static func confirmation(of push: RESPToken) -> PubSubConfirmation? {
        if case .confirmation(let confirmation, _) = PubSubPush(push) { return confirmation }
        return nil
    }

    package init(_ push: RESPToken) {
        guard let elements = push.elements, case let parts = Array(elements),
            let kind = parts.first?.stringBytes?.string.lowercased()
        else {
            self = .malformed
            return
        }
        switch kind {
        case "message", "smessage":
            guard parts.count == 3, let channel = parts[1].stringBytes, let payload = parts[2].stringBytes else {
                self = .malformed
                return
            }
            self = .message(PubSubMessage(channel: channel, payload: payload, sharded: kind == "smessage"))
        case "pmessage":
            guard parts.count == 4, let pattern = parts[1].stringBytes, let channel = parts[2].stringBytes,
                let payload = parts[3].stringBytes
            else {
                self = .malformed
                return
            }
            self = .message(PubSubMessage(channel: channel, pattern: pattern, payload: payload))
        default:
            guard let confirmation = PubSubConfirmation(name: kind) else {
                self = .other
                return
            }
            self = .confirmation(confirmation, channel: parts.count > 1 ? parts[1].stringBytes : nil)
        }
    }
}
