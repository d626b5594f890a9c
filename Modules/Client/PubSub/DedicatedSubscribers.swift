import GlideConnection
import GlideTransport

/// RESP2 subscriber connections: a RESP2 connection that subscribes can serve nothing else, so
/// subscriptions go to a connection of their own to the node the placement chose. Each is made
/// on first use, supervised like the client's others, and retired once its node's shared
/// connection leaves the client. With RESP3 (`init()`) there is none: subscriptions share the
/// node's connection, and both lookups return the connection they are given.
final class DedicatedSubscribers<Connection: AnyObject & Sendable>: Sendable {
    private struct Pair {
        let shared: Connection
        let dedicated: Connection
    }

    private let make: (@Sendable (Connection) -> Connection)?
    private let retire: (@Sendable (Connection) -> Void)?
    /// By the shared connection's identity; the pair keeps the shared one alive, so the
    /// identity is not reused while it is here.
    private let pairs = Lock<[ObjectIdentifier: Pair]>([:])

    /// `make` opens a subscriber connection to the node of a shared connection; `retire` closes one.
    init(make: @escaping @Sendable (Connection) -> Connection, retire: @escaping @Sendable (Connection) -> Void) {
        self.make = make
        self.retire = retire
    }

    /// None: subscriptions share each node's connection (RESP3).
    init() {
        make = nil
        retire = nil
    }

    /// Whether subscriptions have connections of their own (RESP2).
    var isDedicated: Bool { make != nil }

    /// The subscriber connection for the node of `shared`, made now if there is none.
    func subscriber(for shared: Connection) -> Connection {
        guard let make else { return shared }
        return pairs.withLock { pairs in
            if let pair = pairs[ObjectIdentifier(shared)] { return pair.dedicated }
            let dedicated = make(shared)
            pairs[ObjectIdentifier(shared)] = Pair(shared: shared, dedicated: dedicated)
            return dedicated
        }
    }

    /// The shared connection of the node `dedicated` subscribes on, while it is one of these.
    func shared(of dedicated: Connection) -> Connection? {
        guard make != nil else { return dedicated }
        return pairs.withLock { pairs in pairs.values.first { $0.dedicated === dedicated }?.shared }
    }

    /// Retires the subscriber connections of nodes whose shared connection fails `isMember`.
    func prune(keeping isMember: (Connection) -> Bool) {
        let all = pairs.withLock { Array($0.values) }
        let gone = all.filter { !isMember($0.shared) }
        guard let retire, !gone.isEmpty else { return }
        pairs.withLock { pairs in
            for pair in gone { pairs[ObjectIdentifier(pair.shared)] = nil }
        }
        for pair in gone { retire(pair.dedicated) }
    }
}
