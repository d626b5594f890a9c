import GlideConnection
import GlideTransport

/// A connection of its own, lent to one closure by `withDedicatedConnection`: for `WATCH`,
/// `MULTI`/`EXEC` by hand, and other commands whose state belongs to one connection. No other
/// caller's command runs on it while it is lent.
///
/// It comes from the client's pool for its node (`dedicatedConnections`) and goes back when the
/// closure returns: clean (an open `MULTI` discarded, watched keys unwatched), or closed when its
/// state can't be made clean (`SELECT`, `AUTH`, `HELLO`, `READONLY`, `CLIENT SETNAME` and the
/// other `CLIENT` settings ran on it). It never reconnects: if it is lost, every later command
/// fails with `.connectionClosed` (a reconnection would silently drop a `WATCH`). Kept past its
/// closure, it refuses every command: the pool may have lent its connection to someone else.
///
/// ```swift
/// try await client.withDedicatedConnection { connection in
///     try await connection.watch(["balance"])
///     let balance = Int(try await connection.get("balance") ?? "0") ?? 0
///     var update = Batch(isAtomic: true)
///     update.add(SET("balance", String(balance - 10)))
///     if try await connection.exec(update) == nil { print("balance changed meanwhile: try again") }
/// }
/// ```
public final class DedicatedConnection: GlideCommandExecutor, Sendable {
    typealias Connection = NodeConnection<EpollEventLoop, SocketConnector>

    let connection: Connection
    /// The client's core, for its deadline rule.
    let core: SocketCore
    /// What the borrower left on the connection, and whether it may still use it.
    let session = Lock(DedicatedSession())

    init(connection: Connection, core: SocketCore) {
        self.connection = connection
        self.core = core
    }

    /// The node it is connected to.
    public var address: NodeAddress { connection.connector.address }

    /// Sends `command` and decodes its reply. `WATCH`, `UNWATCH`, `MULTI`, `EXEC` and `DISCARD`
    /// run here; commands that would stop one reply per request (`SUBSCRIBE`, `MONITOR`,
    /// `CLIENT REPLY`) are refused with `.configuration`.
    public func execute<Command: GlideCommand>(_ command: Command) async throws(GlideError) -> Command.Response {
        if let refusal = Command.multiplexingRefusal, !Self.allowed.contains(Command.name) {
            throw GlideError(.configuration, refusal)
        }
        let token = try await send(Command.name, effect: DedicatedSession.effect(of: Command.name), blocking: command.blockingTimeout) {
            command.encode(into: &$0)
        }.token
        do {
            return try command.decodeResponse(token)
        } catch {
            throw ClientChecks.unexpectedReply(Command.name, error, address: connection.address)
        }
    }

    /// Sends any command, given as its arguments, and returns the reply as sent.
    public func customCommand(_ arguments: [String]) async throws(GlideError) -> RESPValue {
        let bytes = arguments.map { Bytes($0) }
        guard !bytes.isEmpty else { throw GlideError(.configuration, "a command needs a name") }
        if let refusal = CommandTable.multiplexingRefusal(for: Array(bytes.prefix(2))),
            !Self.allowed.contains(CommandTable.metadata(for: bytes)?.name ?? "")
        {
            throw GlideError(.configuration, refusal)
        }
        let name = CommandTable.metadata(for: bytes)?.name ?? bytes[0].string.uppercased()
        let token = try await send(name, effect: DedicatedSession.effect(of: name), blocking: CommandTable.blockingTimeout(for: bytes)) {
            $0.writeRESPCommand(bytes)
        }.token
        return RESPValue(token)
    }

    /// Runs `batch` on this connection, as the client's `exec` does. An atomic batch honours the
    /// connection's `WATCH`: `nil` when a watched key changed.
    public func exec(_ batch: Batch, raiseOnError: Bool = true) async throws(GlideError) -> BatchResults? {
        let contents = batch.contents
        if let refused = contents.refused { throw refused }
        guard contents.count > 0 else { return BatchResults(entries: []) }
        let request = contents.request(atomic: batch.isAtomic)
        let reply = try await send(
            batch.isAtomic ? "MULTI" : "PIPELINE",
            effect: contents.selectedDatabase != nil || contents.changesConnection ? .taints : batch.isAtomic ? .endsTransaction : .none,
            batchSize: contents.count,
            replies: request.replies, collects: request.collects, blocking: nil, acceptsErrorReply: true, encode: request.encode)
        guard let entries = try contents.entries(of: reply, atomic: batch.isAtomic) else { return nil }
        let results = BatchResults(entries: entries)
        if raiseOnError, let failure = results.firstFailure { throw failure }
        return results
    }

    /// Commands refused on a shared connection that belong here.
    static let allowed: Set<String> = ["WATCH", "UNWATCH", "MULTI", "EXEC", "DISCARD"]

    /// Sends one request, `operation` as the hooks name it, observed as the clients' are; an
    /// error reply throws unless `acceptsErrorReply` (a batch reads its errors from the reply).
    private func send(
        _ operation: String, effect: DedicatedSession.Effect, batchSize: Int? = nil, replies: Int = 1, collects: Bool = false,
        blocking: Duration?, acceptsErrorReply: Bool = false, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        // Marked before it is sent: a request whose outcome is unknown may have taken effect.
        guard session.withLock({ $0.begin(effect) }) else { throw DedicatedSession.endedError }
        do throws(GlideError) {
            let reply = try await core.observed(operation, node: address, batchSize: batchSize) { () throws(GlideError) in
                let reply = try await connection.send(
                    deadline: core.deadline(blockingTimeout: blocking), replies: replies, blocking: blocking != nil,
                    collectsReplies: collects, encode: encode
                ).get()
                if !acceptsErrorReply, reply.token.type.isError { throw GlideError.server(reply.token, address: connection.address) }
                return reply
            }
            session.withLock { $0.answered(effect) }
            return reply
        } catch {
            // An error reply is an answer too: an `EXEC` that aborted still ended its transaction.
            session.withLock { $0.failed(effect, answered: error.code == .server) }
            throw error
        }
    }

    /// Ends the borrower's use, and leaves the connection clean for the next: an open `MULTI`
    /// discarded and watched keys unwatched. Whether it may go back to the pool.
    func finish() async -> Bool {
        let session = self.session.withLock { session in
            defer { session.isActive = false }
            return session
        }
        // A request still out (a task the closure left running) would hold up the next borrower.
        guard !session.isTainted, session.inFlight == 0 else { return false }
        for command in session.cleanUp {
            let reply = await connection.send(deadline: core.deadline(blockingTimeout: nil)) { $0.writeRESPCommand(command) }
            guard case .success(let token) = reply, !token.token.type.isError else { return false }
        }
        return true
    }
}

extension ClientCore where Loop == EpollEventLoop, Connector == SocketConnector {
    /// Borrows a connection to `address` from its pool, lends it to `body`, and gives it back
    /// after, whatever `body` does: clean for the next borrower, or closed.
    func withDedicatedConnection<Result>(
        to address: NodeAddress,
        _ body: (DedicatedConnection) async throws -> Result
    ) async throws -> Result {
        let pool = try dedicatedPool(for: address)
        let lease = try await pool.borrow()
        let dedicated = DedicatedConnection(connection: lease.connection, core: self)
        let outcome: Swift.Result<Result, any Error>
        do {
            outcome = .success(try await body(dedicated))
        } catch {
            outcome = .failure(error)
        }
        let reusable = await dedicated.finish()
        pool.giveBack(lease, reusable: reusable && pool.holds(lease))
        return try outcome.get()
    }
}

extension GlideClient {
    /// Lends `body` a connection of its own to the primary, for `WATCH`, `MULTI`/`EXEC` by hand
    /// and other connection-state commands, and closes it when `body` returns or throws.
    /// Connecting fails as `create` does (`.connectionFailed`, `.authenticationFailed`, …).
    public func withDedicatedConnection<Result>(_ body: (DedicatedConnection) async throws -> Result) async throws -> Result {
        try await core.withDedicatedConnection(to: routing.primary.connector.address, body)
    }
}

extension GlideClusterClient {
    /// Lends `body` a connection of its own to the primary serving `key`'s slot, for `WATCH`,
    /// `MULTI`/`EXEC` by hand and other connection-state commands on keys of that slot, and
    /// closes it when `body` returns or throws. The slot moving meanwhile makes its commands
    /// fail with `MOVED`: the connection doesn't follow.
    public func withDedicatedConnection<Result>(
        forKey key: some BulkStringConvertible,
        _ body: (DedicatedConnection) async throws -> Result
    ) async throws -> Result {
        let slot = BulkString(key).withUnsafeBytes { HashSlot.slot(of: $0) }
        guard let address = nodes.connection(forSlot: slot, replica: false)?.connector.address else {
            throw GlideError(.routing, "no primary serves slot \(slot) now")
        }
        return try await core.withDedicatedConnection(to: address, body)
    }
}
