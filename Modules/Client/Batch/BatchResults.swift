import GlideConnection
import GlideTransport

/// The replies of an executed batch, in the order its commands were added.
///
/// Read a command's typed result with the slot `add` returned (`results[slot]`); a command that
/// failed throws its error there. `values` gives every reply as sent.
public struct BatchResults: Sendable {
    /// One per command: the reply, or why there is none (a node that could not be reached).
    enum Entry: Sendable {
        case reply(RESPToken)
        case failure(GlideError)
    }

    let entries: [Entry]

    /// How many replies: one per command.
    public var count: Int { entries.count }

    /// The result of the command at `slot`, decoded to its type; the command's own error
    /// (`.server` and the like) throws.
    public subscript<Command: GlideCommand>(_ slot: BatchSlot<Command>) -> Command.Response {
        get throws(GlideError) {
            guard slot.index < entries.count else {
                throw GlideError(.configuration, "slot \(slot.index) of another batch: these results have \(entries.count)")
            }
            switch entries[slot.index] {
            case .failure(let error):
                throw error
            case .reply(let token):
                if token.type.isError { throw GlideError.server(token, address: nil) }
                do {
                    return try slot.command.decodeResponse(token)
                } catch {
                    throw ClientChecks.unexpectedReply(Command.name, error, address: nil)
                }
            }
        }
    }

    /// Every reply as sent, errors included as error values; a command that got no reply is a
    /// `.simpleError` with the client's message.
    public var values: [RESPValue] {
        entries.map { entry in
            switch entry {
            case .reply(let token): RESPValue(token)
            case .failure(let error): .simpleError(Bytes(error.description))
            }
        }
    }

    /// The first failure in order: a command's error reply or a node that could not be reached.
    var firstFailure: GlideError? {
        for (index, entry) in entries.enumerated() {
            switch entry {
            case .failure(let error):
                return GlideError(
                    error.code, "command \(index + 1) of the batch: \(error.message)",
                    serverCode: error.serverCode, address: error.address)
            case .reply(let token) where token.type.isError: return GlideError.server(token, address: nil)
            case .reply: continue
            }
        }
        return nil
    }
}

/// How a batch runs, for a standalone client.
public struct BatchOptions: Sendable, Hashable {
    /// How long the whole batch may take, from the call to its last reply; `nil`: the client's
    /// `requestTimeout`.
    public var timeout: Duration?

    /// Options; see each property for its default.
    public init(timeout: Duration? = nil) {
        self.timeout = timeout
    }
}

/// How a cluster batch runs.
public struct ClusterBatchOptions: Sendable, Hashable {
    /// How long the whole batch may take, from the call to its last reply; `nil`: the client's
    /// `requestTimeout`.
    public var timeout: Duration?
    /// What a non-atomic batch sends again (GLIDE's `BatchRetryStrategy`); redirections
    /// (`MOVED`, `ASK`) are always followed. Ignored by atomic batches.
    public var retryStrategy: BatchRetryStrategy
    /// Sends the whole batch to one node instead of where its keys say: commands that meet
    /// `MOVED` or `ASK` there still follow it (for an atomic batch, the whole transaction).
    public var route: Route?

    /// Options; see each property for its default.
    public init(timeout: Duration? = nil, retryStrategy: BatchRetryStrategy = BatchRetryStrategy(), route: Route? = nil) {
        self.timeout = timeout
        self.retryStrategy = retryStrategy
        self.route = route
    }
}

/// Which failures a non-atomic cluster batch sends its commands again for. Both are off by
/// default, as in GLIDE: sending again may run a command twice.
public struct BatchRetryStrategy: Sendable, Hashable {
    /// Send a command again after a transient server error (`TRYAGAIN`, `CLUSTERDOWN`,
    /// `LOADING`, …), waiting as a single request would.
    public var retryServerError: Bool
    /// Send a node's commands again when its connection failed (they may have run already).
    public var retryConnectionError: Bool

    /// A strategy; both off by default.
    public init(retryServerError: Bool = false, retryConnectionError: Bool = false) {
        self.retryServerError = retryServerError
        self.retryConnectionError = retryConnectionError
    }
}

extension BatchResults {
    /// A pipeline's replies, in order.
    static func entries(of reply: ConnectionReply) -> [Entry] {
        var entries = (reply.earlier ?? []).map { Entry.reply($0) }
        entries.append(.reply(reply.token))
        return entries
    }
}
