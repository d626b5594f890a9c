import GlideConnection

/// What a client's subscriptions should be and what each subscriber connection has, and the
/// commands that bring the second in line with the first: the pure core of
/// `PubSubSynchronizer`, with no connection, clock or task (`Target` names a connection).
///
/// Only what the server confirmed counts as actual. A subscription that has to move (its node
/// left the cluster, its slot moved) is made on the new node before it is undone on the old one,
/// so no message falls into a gap between the two; a message published in that moment may
/// arrive twice.
struct SubscriptionLedger<Target: Hashable> {
    /// One command to send: `kind`'s subscribe (or unsubscribe) of `channels` on `target`.
    struct Step: Equatable {
        var target: Target
        var kind: PubSubKind
        var subscribing: Bool
        /// Sorted; sharded channels of one step share a slot (the server refuses a command across slots).
        var channels: [String]
    }

    private(set) var desired: [PubSubKind: Set<String>] = [:]
    private(set) var actual: [Target: [PubSubKind: Set<String>]] = [:]
    /// Channels the server refused, with its reason; they leave `desired`.
    private(set) var refused: [String: String] = [:]

    /// Whether the client wants any subscription.
    var wantsAny: Bool { desired.values.contains { !$0.isEmpty } }

    /// Every confirmed subscription, whatever the connection.
    var allActual: [PubSubKind: Set<String>] {
        actual.values.reduce(into: [:]) { all, kinds in
            for (kind, channels) in kinds { all[kind, default: []].formUnion(channels) }
        }
    }

    // MARK: Changes

    /// The caller wants `channels` of `kind`.
    mutating func want(_ channels: Set<String>, kind: PubSubKind) {
        desired[kind, default: []].formUnion(channels)
    }

    /// The caller no longer wants `channels` of `kind`; an empty set: none of that kind.
    mutating func drop(_ channels: Set<String>, kind: PubSubKind) {
        if channels.isEmpty { desired[kind] = [] } else { desired[kind]?.subtract(channels) }
    }

    /// The server confirmed `step`.
    mutating func confirmed(_ step: Step) {
        if step.subscribing {
            actual[step.target, default: [:]][step.kind, default: []].formUnion(step.channels)
            for channel in step.channels { refused[channel] = nil }
        } else {
            remove(step.channels, kind: step.kind, from: step.target)
        }
    }

    /// The server refused `step` for good (an ACL without the channel): its channels are no
    /// longer wanted, and the reason is kept. A refused unsubscription leaves nothing to undo.
    mutating func refused(_ step: Step, reason: String) {
        guard step.subscribing else {
            remove(step.channels, kind: step.kind, from: step.target)
            return
        }
        desired[step.kind]?.subtract(step.channels)
        for channel in step.channels { refused[channel] = reason }
    }

    /// `target` lost every subscription (its connection dropped, or the server's counts differ).
    mutating func lost(_ target: Target) {
        actual[target] = nil
    }

    /// The server unsubscribed `target` from `channel` of `kind` on its own (a sharded channel
    /// whose slot moved away).
    mutating func serverUnsubscribed(_ channel: String, kind: PubSubKind, target: Target) {
        remove([channel], kind: kind, from: target)
    }

    private mutating func remove(_ channels: [String], kind: PubSubKind, from target: Target) {
        actual[target]?[kind]?.subtract(channels)
        if actual[target]?[kind]?.isEmpty == true { actual[target]?[kind] = nil }
        if actual[target]?.isEmpty == true { actual[target] = nil }
    }

    // MARK: Planning

    /// The commands that make `actual` match `desired`, where `place` says each subscription
    /// belongs now (`nil`: nowhere yet, so an existing one stays where it is). `group` splits a
    /// kind's channels into commands (a sharded channel's slot; 0 otherwise). Subscriptions come
    /// before unsubscriptions, each ordered by kind and channel.
    func plan(place: (PubSubKind, String) -> Target?, group: (PubSubKind, String) -> Int) -> [Step] {
        var subscribing: [Key: [String]] = [:]
        var unsubscribing: [Key: [String]] = [:]
        for kind in PubSubKind.allCases {
            for channel in desired[kind] ?? [] {
                guard let target = place(kind, channel), actual[target]?[kind]?.contains(channel) != true else { continue }
                subscribing[Key(target: target, kind: kind, group: group(kind, channel)), default: []].append(channel)
            }
        }
        for (target, kinds) in actual {
            for (kind, channels) in kinds {
                for channel in channels {
                    let wanted = desired[kind]?.contains(channel) == true
                    if wanted, place(kind, channel).map({ $0 == target }) ?? true { continue }
                    unsubscribing[Key(target: target, kind: kind, group: group(kind, channel)), default: []].append(channel)
                }
            }
        }
        func steps(_ table: [Key: [String]], subscribing: Bool) -> [Step] {
            table.map { Step(target: $0.key.target, kind: $0.key.kind, subscribing: subscribing, channels: $0.value.sorted()) }
                .sorted { ($0.kind.order, $0.channels[0]) < ($1.kind.order, $1.channels[0]) }
        }
        return steps(subscribing, subscribing: true) + steps(unsubscribing, subscribing: false)
    }

    /// How many subscriptions of each kind `target` has, as the server would count them.
    func counts(on target: Target) -> (exact: Int, pattern: Int, sharded: Int) {
        let kinds = actual[target] ?? [:]
        return (kinds[.exact]?.count ?? 0, kinds[.pattern]?.count ?? 0, kinds[.sharded]?.count ?? 0)
    }

    private struct Key: Hashable {
        var target: Target
        var kind: PubSubKind
        var group: Int
    }
}

extension PubSubKind {
    /// Exact, pattern, sharded: the order commands of each kind are planned in.
    var order: Int { Self.allCases.firstIndex(of: self)! }
}
