import GlideTransport

/// What a server's error reply means for the request it answered: the one classifier of error
/// replies, for both clients. It only reads the reply; `ClusterRequestStateMachine` and
/// `StandaloneRequestStateMachine` decide what the request does about it.
enum ErrorReplyMeaning: Equatable, Sendable {
    /// The slot moved (`MOVED`): its owner is now `to`.
    case moved(slot: UInt16, to: NodeAddress)
    /// The slot is being migrated and this key already left (`ASK`): `target` serves it for a
    /// request preceded by `ASKING`.
    case ask(NodeAddress)
    /// A standalone replica that knows the client follows redirections (`CLIENT CAPA redirect`)
    /// says its primary is `to` (`REDIRECT`): the request did not run.
    case redirect(to: NodeAddress)
    /// A transient condition: the request did not run and may be sent again after a pause.
    /// `refresh` says the topology may have changed (a failover in progress, a demoted primary).
    case wait(refresh: Bool)
    /// The error is the answer.
    case final

    /// Whether the reply redirects the request to another node.
    var isRedirection: Bool {
        switch self {
        case .moved, .ask: true
        default: false
        }
    }

    /// Whether a server error reply `message` says the server doesn't know the command or the
    /// subcommand: an older server, whose caller falls back to an older spelling. Every server's
    /// wording counts: `ERR unknown subcommand 'SHARDS'` (Redis 7, Valkey), `ERR Unknown
    /// subcommand or wrong number of arguments for 'SHARDS'` (Redis 6), `ERR unknown command`.
    static func isUnknownCommand(_ message: String) -> Bool {
        let lowercased = message.lowercased()
        return lowercased.contains("unknown subcommand") || lowercased.contains("unknown command")
    }

    /// The meaning of a server error reply `message` (such as `MOVED 3999 127.0.0.1:7002`) from
    /// `node` (whose host a redirection with an empty host means; `nil` when not known).
    static func classify(serverError message: String, from node: NodeAddress?) -> ErrorReplyMeaning {
        let parts = message.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        guard let code = parts.first else { return .final }
        switch code {
        case "MOVED", "ASK":
            guard parts.count >= 3, let slot = UInt16(parts[1]), slot < 16384, var target = NodeAddress(parsing: parts[2]) else {
                return .final
            }
            // An empty host means the host of the node that answered.
            if target.host.isEmpty, let node { target.host = node.host }
            return code == "MOVED" ? .moved(slot: slot, to: target) : .ask(target)
        case "REDIRECT":
            // The primary's address; an IPv6 host has colons of its own, so the port is after the last.
            guard parts.count >= 2, let target = NodeAddress(parsing: parts[1]) else { return .final }
            return .redirect(to: target)
        case "TRYAGAIN", "LOADING":
            // A multi-key request during a migration, or a node still loading its data.
            return .wait(refresh: false)
        case "CLUSTERDOWN", "MASTERDOWN", "READONLY":
            // Slots unserved for now (a failover in progress), a replica whose primary is down,
            // or a write that reached a replica (the primary failed over): the view of the
            // nodes may be stale.
            return .wait(refresh: true)
        default:
            return .final
        }
    }
}
