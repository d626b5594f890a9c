import GlideConnection
import GlideTransport

extension GlideClient {
    /// Sends a request to the node it belongs on (a read where `readFrom` says, anything else to
    /// the primary) and returns its last reply, server errors included, following the nodes'
    /// roles as `RequestRecovery` decides:
    ///
    /// - a write answered `READONLY` reached a primary that was demoted: the nodes are asked for
    ///   their roles, and the write (which never ran) goes to the new primary;
    /// - a request answered `LOADING` (a restarted node loading its data) waits and is sent
    ///   again, 10 ms then doubling up to 160 ms, within its deadline;
    /// - a request that was never sent (no connection before its deadline, or the primary moved
    ///   while it waited) goes where the routes now say, if that is another node;
    /// - a read lost in flight is read again; a write lost in flight may have run, and fails.
    ///
    /// `first` is the outcome of a first attempt made elsewhere (the one-node fast path);
    /// `readFrom` overrides the configured strategy for this request.
    func sendRouted(
        _ name: String, flags: CommandFlags, deadline: Deadline, blocking: Bool, replies: Int = 1,
        collectsReplies: Bool = false, readFrom: ReadFrom? = nil, first: (Connection, Result<ConnectionReply, GlideError>)? = nil,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        if configuration.readOnly && flags.contains(.write) {
            throw GlideError(.configuration, "\(name) writes, and the client is read-only (readOnly)")
        }
        let read = flags.contains(.readonly) || configuration.readOnly
        var (target, result) =
            first ?? {
                let target = routing.connection(forRead: read, override: readFrom)
                return (target, nil)
            }() as (Connection, Result<ConnectionReply, GlideError>?)
        if result == nil {
            result = await target.send(
                deadline: deadline, replies: replies, blocking: blocking, collectsReplies: collectsReplies, encode: encode)
        }
        var attempts = 0
        var waits = 0
        while true {
            let decision: RequestRecovery
            let failure: GlideError
            switch result! {
            case .success(let reply):
                // A pipeline's errors are its commands' own: it is never sent again for them.
                guard reply.token.type.isError, !collectsReplies else { return reply }
                let cause = replies > 1 ? reply.queuedError ?? reply.token : reply.token
                decision = RequestRecovery.decide(serverErrorCode: cause.errorCode, attempts: attempts, waits: waits)
                guard decision != .fail else { return reply }
                failure = GlideError.server(cause, address: target.address)
            case .failure(let error):
                decision = RequestRecovery.decide(connectionError: error, readOnly: read, attempts: attempts)
                failure = error
            }
            switch decision {
            case .fail:
                throw failure
            case .wait(let pause):
                guard Deadline.now() + pause < deadline else {
                    throw GlideError(
                        .timeout, "the request timed out waiting for the node: \(failure.message)",
                        serverCode: failure.serverCode, address: failure.address)
                }
                core.events.retried(failure.serverCode ?? "LOADING")
                do {
                    try await Task.sleep(for: pause)
                } catch {
                    throw GlideError(.cancelled, "the request's task was cancelled while it waited for the node")
                }
                waits += 1
            case .retry(let refresh):
                guard attempts + 1 < RequestRecovery.maximumAttempts, Deadline.now() < deadline else { throw failure }
                if refresh { await roles.checkRolesNow() }
                let next = routing.connection(forRead: read, override: readFrom)
                // Never sent, or refused as a replica: worth sending only where the routes now
                // point elsewhere. (A read lost in flight may be read again on its reconnected node.)
                if failure.code != .connectionClosed && next === target { throw failure }
                target = next
                attempts += 1
                core.events.retried(failure.serverCode ?? "connection")
            }
            result = await target.send(
                deadline: deadline, replies: replies, blocking: blocking, collectsReplies: collectsReplies,
                encode: encode)
        }
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

extension GlideClient {
    /// A request of a command the client-side cache answers: through the cache, read from the
    /// node a read goes to; anything the cache can't take (arguments sent by reference) goes the
    /// usual way.
    func sendCached(
        _ cache: ClientSideCacheStore, _ name: String, flags: CommandFlags, deadline: Deadline,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        var encoded = RESPCommandBuffer()
        encode(&encoded)
        let request = encoded
        let key = CachedCommands.key(of: name, request: request)
        let usual = { () async throws(GlideError) -> RESPToken in
            let reply = try await self.sendRouted(name, flags: flags, deadline: deadline, blocking: false) { $0.append(request) }
            if reply.token.type.isError { throw GlideError.server(reply.token, address: nil) }
            return reply.token
        }
        guard let key else { return try await usual() }
        return try await cache.read(request, key: key, through: routing.connection(forRead: true), deadline: deadline, otherwise: usual)
    }
}
