import GlideConnection
import GlideTransport

/// One cluster request's way to an answer: where it goes, what it is prefixed with, and whether
/// it is tried again, decided from the events of its attempts. A pure value: the client's send
/// loop feeds it events and performs the actions it returns, so every retry rule lives here
/// and is tested without sockets.
///
/// A request aims either at the shard serving a slot (it follows `MOVED` and `ASK`) or at one
/// chosen node (by address, or a keyless command; nothing redirects it). Transient conditions
/// (`TRYAGAIN`, `LOADING`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY`, a node that can't be reached)
/// are waited out with growing pauses, within the deadline. A request lost in flight may have run:
/// only a read is sent again. One that never left the client always may be.
package struct ClusterRequestStateMachine: Sendable {
    /// What the request aims at.
    package enum Target: Hashable, Sendable {
        /// The shard serving `slot`; a replica when `replica` (as `readFrom` picks).
        case slot(UInt16, replica: Bool)
        /// One chosen node.
        case node(NodeAddress)
    }

    /// A command sent just before the request, on the same connection.
    package enum Prefix: Hashable, Sendable {
        case none
        /// `ASKING`: the node an `ASK` named serves the migrating slot for this request.
        case asking
        /// `READONLY`: a replica chosen by an explicit route, on a client that otherwise reads
        /// from primaries, serves reads once told.
        case readOnly
    }

    /// Where the next attempt goes.
    package enum Destination: Hashable, Sendable {
        /// The connection the slot map names for `slot` (a replica when `replica`).
        case shard(slot: UInt16, replica: Bool)
        /// The node at this address. After an `ASK` it may not be in the map yet.
        case node(NodeAddress)
    }

    /// What the send loop does next.
    package enum Action: Sendable {
        /// Send an attempt to `destination`, preceded by `prefix`.
        case send(Destination, prefix: Prefix)
        /// Pause until `until`, then report `waitEnded()` (or `waitCancelled()`).
        case wait(until: Deadline)
        /// The reply answers the request.
        case succeed
        /// The server's error reply answers the request: the caller throws it, or returns it
        /// where error replies are values (a transaction's, a fan-out's).
        case failWithReply
        /// The request fails with this error.
        case fail(GlideError)
    }

    /// A slot the client's map should point elsewhere, as a `MOVED` reply said.
    package struct SlotMove: Hashable, Sendable {
        package var slot: UInt16
        package var address: NodeAddress
    }

    /// The machine's answer to an event: side effects on the client's view of the cluster, to
    /// apply first, then the action.
    package struct Step: Sendable {
        package var action: Action
        /// Patch the slot map (`MOVED`).
        package var moveSlot: SlotMove?
        /// Ask the topology manager for a refresh (rate limited there).
        package var refreshTopology = false

        package init(_ action: Action, moveSlot: SlotMove? = nil, refreshTopology: Bool = false) {
            self.action = action
            self.moveSlot = moveSlot
            self.refreshTopology = refreshTopology
        }

        /// Whether the request goes on after an attempt: sent again, elsewhere or after a pause.
        package var retries: Bool {
            switch action {
            case .send, .wait: true
            default: false
            }
        }
    }

    /// Redirections followed before a request gives up: enough for a migration and a failover
    /// at once, few enough that a loop between confused nodes ends.
    package static let maximumRedirections = 5

    /// Waits before a request gives up even when its deadline is far (a blocking command that
    /// may wait forever): at most 160 ms each, about half a minute in all.
    package static let maximumWaits = 200

    package let target: Target
    /// The command only reads: it may be sent again after being lost in flight.
    package let readOnly: Bool
    /// A replica target needs `READONLY` first (an explicit replica route on a client whose
    /// connections were not opened for replica reads).
    package let replicaNeedsReadOnly: Bool
    package let deadline: Deadline

    /// Where the next attempt goes.
    package private(set) var destination: Destination
    package private(set) var prefix: Prefix
    package private(set) var redirections = 0
    package private(set) var waits = 0
    /// The server condition waited out last (its message, and the node that said it): when the
    /// deadline ends the waiting, the request fails naming it.
    private var waitedFor: (message: String, node: NodeAddress)?
    /// Replies of such conditions so far.
    private var conditionReplies = 0

    package init(target: Target, readOnly: Bool, replicaNeedsReadOnly: Bool = false, deadline: Deadline) {
        self.target = target
        self.readOnly = readOnly
        self.replicaNeedsReadOnly = replicaNeedsReadOnly
        self.deadline = deadline
        (destination, prefix) = Self.home(target, replicaNeedsReadOnly: replicaNeedsReadOnly)
    }

    private static func home(_ target: Target, replicaNeedsReadOnly: Bool) -> (Destination, Prefix) {
        switch target {
        case .slot(let slot, let replica):
            return (.shard(slot: slot, replica: replica), replica && replicaNeedsReadOnly ? .readOnly : .none)
        case .node(let address):
            return (.node(address), .none)
        }
    }

    // MARK: Events

    /// The first attempt.
    package func start() -> Step {
        Step(.send(destination, prefix: prefix))
    }

    /// The slot map names no node for the destination's slot (the topology is catching up).
    package mutating func noNodeServesSlot(now: Deadline) -> Step {
        guard case .shard(let slot, _) = destination else { return Step(.fail(GlideError(.routing, "no node to send to"))) }
        return pause(now: now, refresh: true, otherwise: GlideError(.routing, "no node of the cluster serves slot \(slot)"))
    }

    /// The attempt was answered without an error.
    package func replied() -> Step {
        Step(.succeed)
    }

    /// The attempt was answered by a server error `message` (for a transaction, the error that
    /// says why it was refused) from `node`.
    package mutating func repliedError(_ message: String, from node: NodeAddress, now: Deadline) -> Step {
        let decision = ErrorReplyMeaning.classify(serverError: message, from: node)
        if case .node = target, decision.isRedirection {
            return Step(.failWithReply)  // a node chosen by the caller answers for itself
        }
        switch decision {
        case .moved(let slot, let address):
            guard redirections < Self.maximumRedirections else { return Step(.failWithReply) }
            redirections += 1
            destination = .shard(slot: slot, replica: false)
            prefix = .none
            return Step(.send(destination, prefix: prefix), moveSlot: SlotMove(slot: slot, address: address), refreshTopology: true)
        case .ask(let address):
            guard redirections < Self.maximumRedirections else { return Step(.failWithReply) }
            redirections += 1
            destination = .node(address)
            prefix = .asking
            return Step(.send(destination, prefix: prefix))
        case .wait(let refresh):
            guard waits < Self.maximumWaits else { return Step(.failWithReply) }
            waitedFor = (message, node)
            conditionReplies += 1
            // TRYAGAIN from the node an ASK named (keys split by the migration): ask it again.
            // Anything else goes back to the target's primary (or chosen node).
            if !(prefix == .asking && message.hasPrefix("TRYAGAIN")) { returnHome() }
            return pause(now: now, refresh: refresh, otherwise: Self.gaveUp(waitingFor: message, at: node, replies: conditionReplies))
        case .redirect, .final:
            // REDIRECT comes only from standalone replicas.
            return Step(.failWithReply)
        }
    }

    /// The attempt failed without an answer: `error` says whether it left the client.
    ///
    /// - `.connectionFailed`: never sent (no connection to the node); sent again after a refresh.
    /// - `.connectionClosed`: lost in flight and may have run; only a read is sent again.
    /// - `.clientClosed` (the client itself is open): the node left the topology and its
    ///   connection was retired; a read goes where the map now says.
    /// - `.timeout`: the deadline passed; after waiting out a condition, the error names it.
    /// - `.circuitOpen`: final, and the topology is refreshed (the node's slots may have moved on).
    /// - Anything else (cancelled, credentials, TLS) is final.
    package mutating func failed(_ error: GlideError, at node: NodeAddress, now: Deadline) -> Step {
        switch error.code {
        case .timeout:
            if let (message, node) = waitedFor { return Step(.fail(Self.gaveUp(waitingFor: message, at: node, replies: conditionReplies))) }
            return Step(.fail(error))
        case .clientClosed:
            guard case .slot = target, readOnly, redirections < Self.maximumRedirections else {
                return Step(
                    .fail(
                        GlideError(
                            .connectionClosed,
                            "the node left the cluster while the request was in flight; "
                                + "it may or may not have run", address: node.description)))
            }
            redirections += 1
            returnHome()
            return Step(.send(destination, prefix: prefix))
        case .connectionFailed, .connectionClosed:
            // Whether it may go again at all is what both clients share: never sent, yes; lost
            // in flight, only a read.
            guard case .retry = RequestRecovery.decide(connectionError: error, readOnly: readOnly, attempts: waits) else {
                return Step(.fail(error), refreshTopology: true)
            }
            returnHome()
            return pause(now: now, refresh: true, otherwise: error)
        case .circuitOpen:
            // The node stopped answering: its slots may have moved on (a failover) since.
            return Step(.fail(error), refreshTopology: true)
        default:
            return Step(.fail(error))
        }
    }

    /// The pause asked for ended.
    package func waitEnded() -> Step {
        Step(.send(destination, prefix: prefix))
    }

    /// The caller's task was cancelled during a pause.
    package func waitCancelled() -> Step {
        Step(.fail(GlideError(.cancelled, "the request's task was cancelled while it waited to be tried again")))
    }

    // MARK: Helpers

    /// Back to where the request aims: the slot's primary after a failure (a replica that
    /// failed a read hands it to the primary), or the chosen node.
    private mutating func returnHome() {
        switch target {
        case .slot(let slot, _):
            destination = .shard(slot: slot, replica: false)
            prefix = .none
        case .node:
            (destination, prefix) = Self.home(target, replicaNeedsReadOnly: replicaNeedsReadOnly)
        }
    }

    /// A pause of the next backoff, when the deadline leaves time for it and an attempt after
    /// it; otherwise the request fails with `error`.
    private mutating func pause(now: Deadline, refresh: Bool, otherwise error: GlideError) -> Step {
        let until = now + RequestRecovery.backoff(attempt: waits)
        guard waits < Self.maximumWaits, until < deadline else { return Step(.fail(error), refreshTopology: refresh) }
        waits += 1
        return Step(.wait(until: until), refreshTopology: refresh)
    }

    /// The error of a request whose deadline ended its waiting out of a server condition: a
    /// timeout, tagged with the condition's code (`TRYAGAIN`, `CLUSTERDOWN`, …) and message.
    package static func gaveUp(waitingFor message: String, at node: NodeAddress, replies: Int) -> GlideError {
        let code = message.split(separator: " ", maxSplits: 1).first.map(String.init)
        return GlideError(
            .timeout, "the request timed out after waiting out \(replies) replies of: \(message)",
            serverCode: code, address: node.description)
    }
}
