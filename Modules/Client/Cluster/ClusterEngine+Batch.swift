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

    /// Runs a non-atomic batch: its commands grouped by node (their slot's primary, or the
    /// node `route` names), each group sent to its node at once as one pipeline, the replies put
    /// back in the order the commands were added. A command answered `MOVED` or `ASK` is sent
    /// again on its own where the answer says; `retry` decides about transient errors and lost
    /// connections.
    func execPipeline(_ contents: BatchContents, options: ClusterBatchOptions, deadline: Deadline) async throws(GlideError) -> [BatchResults
        .Entry]
    {
        if let unsplittable = contents.unsplittable { throw GlideError(.routing, unsplittable) }
        let groups = try group(contents, route: options.route)
        var entries = [BatchResults.Entry?](repeating: nil, count: contents.count)
        let sent = await withTaskGroup(of: ([Int], NodeAddress, Result<ConnectionReply, GlideError>).self) { tasks in
            for (address, indices) in groups {
                var buffer = RESPCommandBuffer()
                for index in indices { buffer.append(contents.commands, from: contents.start(of: index), to: contents.ends[index]) }
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
                    entries[index] = entry
                    if case .reply(let token) = entry, token.type.isError,
                        resend(after: token, from: address, options: options.retryStrategy)
                    {
                        again.append((index, Attempt(result: .success(ConnectionReply(token: token, queuedError: nil)), node: address)))
                    }
                }
            case .failure(let error):
                for index in indices {
                    entries[index] = .failure(error)
                    if Self.resend(after: error, options: options.retryStrategy) {
                        again.append((index, Attempt(result: .failure(error), node: address)))
                    }
                }
            }
        }
        if !again.isEmpty {
            for (index, entry) in await redo(again, of: contents, options: options, deadline: deadline) { entries[index] = entry }
        }
        return entries.map { $0! }
    }

    /// Each node's commands, in the batch's order.
    private func group(_ contents: BatchContents, route: Route?) throws(GlideError) -> [(NodeAddress, [Int])] {
        var fixed: NodeAddress?
        if let route {
            switch try Self.target(of: route) {
            case .address(let address): fixed = address
            case .slot(let slot, let replica): fixed = nodes.connection(forSlot: slot, replica: replica)?.connector.address
            default: fixed = nodes.anyNode(primaryOnly: true)?.0
            }
            guard fixed != nil else { throw GlideError(.routing, "no node serves \(route)") }
        }
        // Commands without keys share one primary, chosen once.
        let keyless = fixed ?? nodes.anyNode(primaryOnly: true)?.0
        var order: [NodeAddress] = []
        var groups: [NodeAddress: [Int]] = [:]
        for (index, target) in contents.targets.enumerated() {
            let address: NodeAddress?
            switch target {
            case .slot(let slot): address = fixed ?? nodes.connection(forSlot: slot, replica: false)?.connector.address
            case .anyPrimary: address = keyless
            }
            guard let address else {
                throw GlideError(.routing, "no node serves the slot of command \(index + 1) of the batch; the cluster is not fully covered")
            }
            if groups[address] == nil { order.append(address) }
            groups[address, default: []].append(index)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// Whether a command answered `token` goes again: always after a redirection, after a
    /// transient condition when the strategy says so.
    private func resend(after token: RESPToken, from node: NodeAddress, options: BatchRetryStrategy) -> Bool {
        let message = token.stringBytes?.string ?? ""
        switch ErrorReplyMeaning.classify(serverError: message, from: node) {
        case .moved, .ask: return true
        case .wait: return options.retryServerError
        case .final: return false
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

    /// Sends commands again, each on its own and at once, through the request machine, which
    /// follows redirections and waits out transient conditions from the first attempt's outcome.
    private func redo(
        _ commands: [(index: Int, first: Attempt)], of contents: BatchContents, options: ClusterBatchOptions,
        deadline: Deadline
    ) async -> [(Int, BatchResults.Entry)] {
        await withTaskGroup(of: (Int, BatchResults.Entry).self) { tasks in
            for (index, first) in commands {
                guard case .slot(let slot) = contents.targets[index] else { continue }
                let command = contents.command(at: index)
                // A command lost in flight goes again only when the strategy allows it: the
                // machine resends such a request as it would a read.
                let resendable = options.retryStrategy.retryConnectionError
                tasks.addTask {
                    let machine = ClusterRequestStateMachine(
                        target: .slot(slot, replica: false), readOnly: resendable,
                        replicaNeedsReadOnly: false, deadline: deadline)
                    do throws(GlideError) {
                        let answer = try await self.run(machine, after: first, replies: 1) { $0.append(command) }
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
