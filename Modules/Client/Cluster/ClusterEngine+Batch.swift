import GlideConnection
import GlideRouter
import GlideTransport

extension ClusterEngine {
    /// Runs an atomic batch (`MULTI` … `EXEC`) on the primary of its keys' slot, a random primary
    /// when it names no key, or where `route` says; `MOVED` and `ASK` send it again whole. `nil`
    /// when a watched key changed.
    func execAtomic(_ contents: BatchContents, route: Route?, deadline: Deadline) async throws(GlideError) -> [BatchResults.Entry]? {
        if let crossSlot = contents.crossSlot { throw GlideError(.routing, crossSlot) }
        let commands = contents.commands
        let replies = contents.count + 2
        let encode: @Sendable (inout RESPCommandBuffer) -> Void = { $0.appendTransaction(commands) }
        var slot = contents.slot?.slot
        if let route {
            switch try Self.target(of: route) {
            case .slot(let routed, _):
                slot = routed
            case .address(let address):
                return try await execOnce(on: address, replies: replies, deadline: deadline, encode: encode)
            default:
                slot = nil
            }
        }
        guard let slot else {
            guard let (address, _) = nodes.anyNode(primaryOnly: true) else {
                throw GlideError(.routing, "the client knows no node of the cluster")
            }
            return try await execOnce(on: address, replies: replies, deadline: deadline, encode: encode)
        }
        let reply = try await send(toSlot: slot, replica: false, readOnly: false, deadline: deadline, replies: replies, encode: encode)
        return try Transaction.results(of: reply, raiseOnError: false, address: nil)
    }

    private func execOnce(
        on address: NodeAddress, replies: Int, deadline: Deadline,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> [BatchResults.Entry]? {
        guard let connection = nodes.connection(to: address) else { throw GlideError(.routing, "\(address) is not a node of the cluster") }
        switch await connection.send(deadline: deadline, replies: replies, encode: encode) {
        case .failure(let error):
            throw error
        case .success(let reply):
            return try Transaction.results(of: reply, raiseOnError: false, address: address.description)
        }
    }

    /// Where a batch's `route` sends it: one node, or one slot's primary (or replica).
    static func target(of route: Route) throws(GlideError) -> RequestTarget {
        guard let target = Router.decide(name: "EXEC", routing: CommandRouting(flags: [.write]), route: route)?.target else {
            throw GlideError(.routing, "slot IDs run from 0 to 16383: \(route)")
        }
        switch target {
        case .slot, .address, .randomNode: return target
        case .allNodes, .allPrimaries, .splitBySlot: throw GlideError(.routing, "a batch goes to one node; \(route) names several")
        }
    }

    // MARK: Pipelines

    /// Runs a non-atomic batch laid out by `ClusterBatchPlan`: its commands grouped by node (their
    /// slot's primary, or the node `route` names), a command that needs several nodes sent to each
    /// of them; each group sent to its node at once as one pipeline; the results put together and
    /// back in the order the commands were added. A piece answered `MOVED` or `ASK` is sent again
    /// on its own where the answer says; `retry` decides about transient errors and lost
    /// connections.
    func execPipeline(_ contents: BatchContents, options: ClusterBatchOptions, deadline: Deadline) async throws(GlideError) -> [BatchResults
        .Entry]
    {
        if let unsplittable = contents.unsplittable { throw GlideError(.routing, unsplittable) }
        let plan = try ClusterBatchPlan(contents, fixed: try fixedNode(options.route), nodes: planNodes())
        var replies = [BatchResults.Entry?](repeating: nil, count: plan.pieces.count)
        let sent = await withTaskGroup(of: ([Int], NodeAddress, Result<ConnectionReply, GlideError>).self) { tasks in
            for (address, indices) in plan.groups {
                var buffer = RESPCommandBuffer()
                for index in indices { plan.write(index, into: &buffer) }
                let request = buffer
                tasks.addTask {
                    guard let connection = self.nodes.connection(to: address) else {
                        return (
                            indices, address,
                            .failure(GlideError(.connectionFailed, "\(address) left the cluster", address: address.description))
                        )
                    }
                    let result = await connection.send(deadline: deadline, replies: indices.count, collectsReplies: true) {
                        $0.append(request)
                    }
                    return (indices, address, result)
                }
            }
            var all: [([Int], NodeAddress, Result<ConnectionReply, GlideError>)] = []
            for await outcome in tasks { all.append(outcome) }
            return all
        }
        var again: [(index: Int, first: Attempt)] = []
        for (indices, address, result) in sent {
            switch result {
            case .success(let reply):
                for (index, entry) in zip(indices, BatchResults.entries(of: reply)) {
                    replies[index] = entry
                    if case .reply(let token) = entry, token.type.isError,
                        resend(after: token, from: address, options: options.retryStrategy)
                    {
                        again.append((index, Attempt(result: .success(ConnectionReply(token: token, queuedError: nil)), node: address)))
                    }
                }
            case .failure(let error):
                for index in indices {
                    replies[index] = .failure(error)
                    if Self.resend(after: error, options: options.retryStrategy) {
                        again.append((index, Attempt(result: .failure(error), node: address)))
                    }
                }
            }
        }
        if !again.isEmpty {
            for (index, entry) in await redo(again, of: plan, options: options, deadline: deadline) { replies[index] = entry }
        }
        return plan.entries(from: replies.map { $0! })
    }

    /// The one node a routed batch goes to; `nil` without a route.
    private func fixedNode(_ route: Route?) throws(GlideError) -> NodeAddress? {
        guard let route else { return nil }
        let fixed: NodeAddress?
        switch try Self.target(of: route) {
        case .address(let address): fixed = address
        case .slot(let slot, let replica): fixed = nodes.connection(forSlot: slot, replica: replica)?.connector.address
        default: fixed = nodes.anyNode(primaryOnly: true)?.0
        }
        guard let fixed else { throw GlideError(.routing, "no node serves \(route)") }
        return fixed
    }

    /// The slot map as `ClusterBatchPlan` asks it.
    private func planNodes() -> ClusterBatchPlan.Nodes {
        let nodes = self.nodes
        return ClusterBatchPlan.Nodes(
            primary: { nodes.connection(forSlot: $0, replica: false)?.connector.address },
            primaries: { nodes.primaries().map(\.0) },
            all: { nodes.allNodes().map(\.0) },
            keyless: nodes.anyNode(primaryOnly: true)?.0)
    }

    /// Whether a command answered `token` goes again: always after a redirection, after a
    /// transient condition when the strategy says so.
    private func resend(after token: RESPToken, from node: NodeAddress, options: BatchRetryStrategy) -> Bool {
        let message = token.stringBytes?.string ?? ""
        switch ErrorReplyMeaning.classify(serverError: message, from: node) {
        case .moved, .ask: return true
        case .wait: return options.retryServerError
        case .redirect, .final: return false
        }
    }

    /// Whether commands whose node failed go again: never sent, always; lost in flight (they
    /// may have run), when the strategy says so.
    private static func resend(after error: GlideError, options: BatchRetryStrategy) -> Bool {
        switch error.code {
        case .connectionFailed: true
        case .connectionClosed: options.retryConnectionError
        default: false
        }
    }

    /// Sends pieces again, each on its own and at once, through the request machine, which
    /// follows redirections and waits out transient conditions from the first attempt's outcome.
    private func redo(
        _ pieces: [(index: Int, first: Attempt)], of plan: ClusterBatchPlan, options: ClusterBatchOptions,
        deadline: Deadline
    ) async -> [(Int, BatchResults.Entry)] {
        await withTaskGroup(of: (Int, BatchResults.Entry).self) { tasks in
            for (index, first) in pieces {
                var command = RESPCommandBuffer()
                plan.write(index, into: &command)
                let request = command
                let target: ClusterRequestStateMachine.Target =
                    switch plan.pieces[index].target {
                    case .slot(let slot): .slot(slot, replica: false)
                    case .node(let node): .node(node)
                    }
                // A command lost in flight goes again only when the strategy allows it: the
                // machine resends such a request as it would a read.
                let resendable = options.retryStrategy.retryConnectionError
                tasks.addTask {
                    let machine = ClusterRequestStateMachine(
                        target: target, readOnly: resendable, replicaNeedsReadOnly: false, deadline: deadline)
                    do throws(GlideError) {
                        let answer = try await self.run(machine, after: first, replies: 1) { $0.append(request) }
                        return (index, .reply(answer.reply.token))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var entries: [(Int, BatchResults.Entry)] = []
            for await entry in tasks { entries.append(entry) }
            return entries
        }
    }
}
