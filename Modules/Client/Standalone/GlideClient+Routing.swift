import GlideConnection
import GlideTransport

/// How a standalone client sends a request: to the node its routes pick (a read where
/// `readFrom` says, anything else to the primary), sent again as `StandaloneRequestStateMachine`
/// decides, its pauses on the loop's clock. Generic over the loop and connector, so a manual
/// loop's test runs the same code.
struct StandaloneSender<Loop: EventLoop, Connector: NodeConnector>: Sendable {
    typealias Connection = NodeConnection<Loop, Connector>

    let core: ClientCore<Loop, Connector>
    let routing: StandaloneRouting<Connection>
    let roles: RoleFollower<Loop, Connector>
    /// The configuration's `readOnly`: every request reads, and writes are refused.
    let readOnlyClient: Bool

    /// Sends a request and returns its last reply, server errors included. `first` is the
    /// outcome of a first attempt made elsewhere (the one-node fast path); `readFrom` overrides
    /// the configured strategy for this request. A blocking command goes on a connection borrowed
    /// from the chosen node's pool (`ClientCore.lendsConnection(toBlocking:)`).
    func send(
        _ name: String, flags: CommandFlags, deadline: Deadline, blocking: Bool, replies: Int = 1,
        collectsReplies: Bool = false, readFrom: ReadFrom? = nil, first: (Connection, Result<ConnectionReply, GlideError>)? = nil,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        if readOnlyClient && flags.contains(.write) {
            throw GlideError(.configuration, "\(name) writes, and the client is read-only (readOnly)")
        }
        let read = flags.contains(.readonly) || readOnlyClient
        var machine = StandaloneRequestStateMachine(readOnly: read, deadline: deadline)
        var (target, result) =
            first ?? {
                let target = routing.connection(forRead: read, override: readFrom)
                return (target, nil)
            }() as (Connection, Result<ConnectionReply, GlideError>?)
        // A blocking command waits on a connection of its own, so the shared one keeps moving.
        let onLoan = blocking && core.lendsConnection(toBlocking: name)
        // A single read that may go to replicas may be hedged on another node.
        let singleRead = flags.contains(.readonly) && !blocking && replies == 1 && !collectsReplies
        let hedges = core.hedger != nil && singleRead
        let coalesces = core.coalescer != nil && singleRead
        func attempt(on target: Connection) async -> Result<ConnectionReply, GlideError> {
            if onLoan { return await core.sendOnLoan(to: target.connector.address, deadline: deadline, replies: replies, encode: encode) }
            if hedges, let second = routing.hedgeConnection(after: target, override: readFrom) {
                var request = RESPCommandBuffer()
                encode(&request)
                return await core.hedger!.read(request, on: target, or: second, deadline: deadline)
            }
            if coalesces {
                var request = RESPCommandBuffer()
                encode(&request)
                return await core.coalescer!.read(request, on: target, deadline: deadline)
            }
            return await target.send(
                deadline: deadline, replies: replies, blocking: blocking, collectsReplies: collectsReplies, encode: encode)
        }
        if result == nil { result = await attempt(on: target) }
        while true {
            let action: StandaloneRequestStateMachine.Action
            switch result! {
            case .success(let reply):
                // A pipeline's errors are its commands' own: it is never sent again for them.
                guard reply.token.type.isError, !collectsReplies else { return reply }
                let cause = replies > 1 ? reply.queuedError ?? reply.token : reply.token
                action = machine.errorReplied(GlideError.server(cause, address: target.address), now: core.loop.now())
                if case .reply = action { return reply }
            case .failure(let error):
                action = machine.failed(error, now: core.loop.now())
            }
            switch action {
            case .reply:
                preconditionFailure("a reply is returned where it is read")
            case .fail(let error):
                throw error
            case .wait(let until, let failure):
                core.events.retried(failure.serverCode ?? "LOADING")
                guard await LoopPause.sleep(until: until, on: core.loop) else {
                    throw GlideError(.cancelled, "the request's task was cancelled while it waited for the node")
                }
            case .retry(let refresh, let sameNodeAllowed, let failure):
                if refresh { await roles.checkRolesNow() }
                let next = routing.connection(forRead: read, override: readFrom)
                if !sameNodeAllowed && next === target { throw failure }
                target = next
                core.events.retried(failure.serverCode ?? "connection")
            case .redirect(let address, let failure):
                // Straight to the node named, when the client knows it; the roles are checked
                // meanwhile, so the routes follow.
                let named = routing.connection(at: address)
                if named != nil { await roles.checkRoles() } else { await roles.checkRolesNow() }
                let next = named ?? routing.connection(forRead: read, override: readFrom)
                if next === target { throw failure }
                target = next
                core.events.retried("REDIRECT")
            }
            result = await attempt(on: target)
        }
    }
}

extension GlideClient {
    /// Sends a request as `StandaloneSender.send` does.
    func sendRouted(
        _ name: String, flags: CommandFlags, deadline: Deadline, blocking: Bool, replies: Int = 1,
        collectsReplies: Bool = false, readFrom: ReadFrom? = nil, first: (Connection, Result<ConnectionReply, GlideError>)? = nil,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        try await StandaloneSender(core: core, routing: routing, roles: roles, readOnlyClient: configuration.readOnly).send(
            name, flags: flags, deadline: deadline, blocking: blocking, replies: replies, collectsReplies: collectsReplies,
            readFrom: readFrom, first: first, encode: encode)
    }

    /// After a `SELECT` succeeded: every node's connection selects `database` now (so reads on
    /// replicas see the same database as writes) and on every reconnection.
    func selectEverywhere(_ database: Int) async throws(GlideError) {
        let connections = routing.all
        for connection in connections { connection.databaseSelected(database) }
        guard connections.count > 1 else { return }
        let deadline = core.deadline(blockingTimeout: nil)
        for connection in connections where connection.isReady.load(ordering: .relaxed) {
            let result = await connection.send(deadline: deadline) { $0.writeRESPCommand("SELECT" as StaticString, database) }
            if case .success(let reply) = result, reply.token.type.isError {
                throw GlideError.server(reply.token, address: connection.address)
            }
        }
    }

    /// The view of the nodes the client routes by: roles, zones, reachability, the primary.
    var nodes: StandaloneTopology { routing.table.withLock { $0.topology } }
}
