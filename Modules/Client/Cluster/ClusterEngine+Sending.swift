import GlideConnection
import GlideRouter
import GlideTopology
import GlideTransport

/// Replies of a request that reached one node, or several whose replies don't combine.
enum ClusterReplies: Sendable {
    case single(RESPToken)
    case perNode([NodeAddress: RESPToken])
}

extension ClusterEngine {
    /// What a request driven by `ClusterRequestStateMachine` ended with.
    struct Answer {
        var reply: ConnectionReply
        /// The node that answered.
        var node: NodeAddress
        /// The reply is a server error that answers the request.
        var isError: Bool
    }

    // MARK: One slot

    /// Sends a request for `slot` and returns its reply, following redirections and retrying as
    /// `ClusterRequestStateMachine` decides, until `deadline`. Server errors that end the request throw.
    ///
    /// `name` is the command's, when the client-side cache may answer it, or when it is
    /// `blocking`: a blocking command waits on a connection borrowed from the pool of the
    /// slot's primary (`sendOnLoan(toSlot:...)`).
    func send(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, name: String? = nil, blocking: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        if blocking, let name, core.lendsConnection(toBlocking: name) {
            return try await sendOnLoan(toSlot: slot, readOnly: readOnly, deadline: deadline, encode: encode)
        }
        if core.cache != nil,
            let token = try await core.cachedRead(
                name, deadline: deadline, encode: encode,
                // A read that needs READONLY first, or a slot without a connection, takes the usual path.
                through: { replica && configuration.readFrom == .primary ? nil : nodes.connection(forSlot: slot, replica: replica) },
                otherwise: { request throws(GlideError) in
                    try await send(toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, replies: 1) {
                        $0.append(request)
                    }.token
                })
        {
            return token
        }
        return try await send(
            toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, replies: 1, hedges: !blocking, encode: encode
        ).token
    }

    /// `send(toSlot:replica:readOnly:deadline:encode:)` for a request of `replies` replies (a
    /// transaction): the last reply comes back, with the first error among the others; a
    /// refused transaction's reply comes back for the caller to explain. `hedges`: a single
    /// non-blocking request, which, when `readOnly`, `hedgedReads` may race on another node of
    /// the shard (a replica read) or `coalescesReads` may share with an identical one.
    func send(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, replies: Int, hedges: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        // An explicit replica route on a client that otherwise reads from primaries: the replica
        // serves reads once told READONLY.
        let replicaNeedsReadOnly = configuration.readFrom == .primary
        var first: Attempt?
        // The first attempt is the one `start()` asks for when there is no prefix, made before the
        // machine exists: a request answered at once (nearly all) pays nothing for the retry logic
        // it doesn't use (Docs/performance.md has the measurement).
        if !(replica && replicaNeedsReadOnly), !closed, let connection = nodes.connection(forSlot: slot, replica: replica) {
            let result: Result<ConnectionReply, GlideError>
            if hedges, replica, replies == 1, core.hedger != nil, let second = nodes.hedgeConnection(forSlot: slot, after: connection) {
                result = await hedged(on: connection, or: second, deadline: deadline, encode: encode)
            } else if hedges, readOnly, replies == 1, core.coalescer != nil {
                result = await coalesced(on: connection, deadline: deadline, encode: encode)
            } else {
                result = await connection.send(deadline: deadline, replies: replies, encode: encode)
            }
            if case .success(let reply) = result, !reply.token.type.isError { return reply }
            first = Attempt(result: result, node: connection.connector.address)
        }
        return try await send(
            toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, replies: replies, after: first, encode: encode)
    }

    /// A read raced on two nodes of its shard (`ReadHedger`). Its own function, so the buffer
    /// it builds stays out of the hot path's frame.
    @inline(never)
    private func hedged(
        on first: Nodes.Connection, or second: Nodes.Connection, deadline: Deadline,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        var request = RESPCommandBuffer()
        encode(&request)
        return await core.hedger!.read(request, on: first, or: second, deadline: deadline)
    }

    /// A read that may share the reply of an identical one not yet written on `connection`
    /// (`ReadCoalescer`), out of the hot path's frame as `hedged` is.
    @inline(never)
    private func coalesced(
        on connection: Nodes.Connection, deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        var request = RESPCommandBuffer()
        encode(&request)
        return await core.coalescer!.read(request, on: connection, deadline: deadline)
    }

    /// Sends a request for `slot` on from the outcome of its first attempt (`nil`: none was made)
    /// through `ClusterRequestStateMachine`, as `send(toSlot:...)` does after its first attempt.
    func send(
        toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, replies: Int = 1, after first: Attempt?,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> ConnectionReply {
        let machine = ClusterRequestStateMachine(
            target: .slot(slot, replica: replica), readOnly: readOnly,
            replicaNeedsReadOnly: configuration.readFrom == .primary, deadline: deadline)
        let answer = try await run(machine, after: first, replies: replies, encode: encode)
        if answer.isError && replies == 1 { throw GlideError.server(answer.reply.token, address: answer.node.description) }
        return answer.reply
    }

    /// Sends a blocking command for `slot` on a connection borrowed from the pool of the slot's
    /// primary, following redirections and retrying as `send(toSlot:...)` does, so that the
    /// node's shared connection keeps serving other requests while it waits.
    func sendOnLoan(
        toSlot slot: UInt16, readOnly: Bool, deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> RESPToken {
        let machine = ClusterRequestStateMachine(target: .slot(slot, replica: false), readOnly: readOnly, deadline: deadline)
        let answer = try await run(machine, after: nil, replies: 1, onLoan: true, encode: encode)
        if answer.isError { throw GlideError.server(answer.reply.token, address: answer.node.description) }
        return answer.reply.token
    }

    /// Sends a pre-encoded request to one chosen node (by address, or for a keyless command).
    /// Nothing redirects such a request; transient conditions are waited out within the deadline.
    /// A server error throws, or comes back as the reply when `throwingServerErrors` is false.
    func sendOnce(
        _ request: RESPCommandBuffer, to address: NodeAddress, deadline: Deadline, readOnly: Bool = false,
        throwingServerErrors: Bool = true
    ) async throws(GlideError) -> RESPToken {
        let machine = ClusterRequestStateMachine(target: .node(address), readOnly: readOnly, deadline: deadline)
        let answer = try await run(machine, after: nil, replies: 1) { $0.append(request) }
        if answer.isError && throwingServerErrors { throw GlideError.server(answer.reply.token, address: answer.node.description) }
        return answer.reply.token
    }

    /// One attempt's outcome, and the node it went to.
    struct Attempt: Sendable {
        var result: Result<ConnectionReply, GlideError>
        var node: NodeAddress

        /// What the attempt ran into, for the hooks: the server's error code, or `connection`.
        var kind: String {
            if case .success(let reply) = result { return reply.token.errorCode ?? "reply" }
            return "connection"
        }
    }

    /// Runs `machine` to its answer, starting from the outcome of an attempt already made when
    /// there is one: performs the sends and pauses it asks for and applies its changes to the
    /// slot map. Connection and deadline failures throw. `onLoan`: each attempt goes on a
    /// connection borrowed from the chosen node's pool instead of its shared one.
    func run(
        _ machine: consuming ClusterRequestStateMachine, after first: Attempt?, replies: Int, onLoan: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async throws(GlideError) -> Answer {
        var machine = machine
        var last = first
        var step = if let first { try event(first, replies: replies, for: &machine) } else { machine.start() }
        if let first, step.retries { core.events.retried(first.kind) }
        while true {
            if let move = step.moveSlot { nodes.applyMoved(slot: move.slot, to: move.address) }
            if step.refreshTopology { topologyManager.requestRefresh() }
            if closed { throw GlideError(.clientClosed, "the client was closed") }
            switch step.action {
            case .succeed, .failWithReply:
                guard let last, case .success(let reply) = last.result else { preconditionFailure("an answer without a reply") }
                let isError = if case .failWithReply = step.action { true } else { false }
                return Answer(reply: reply, node: last.node, isError: isError)
            case .fail(let error):
                throw error
            case .wait(let until):
                step = await pause(until: until) ? machine.waitEnded() : machine.waitCancelled()
            case .send(let destination, let prefix):
                let connection: Nodes.Connection
                switch destination {
                case .shard(let slot, let replica):
                    guard let found = nodes.connection(forSlot: slot, replica: replica) else {
                        step = machine.noNodeServesSlot(now: core.loop.now())
                        continue
                    }
                    connection = found
                case .node(let address):
                    // A node an ASK named may be new to the map; a node the caller chose must be in it.
                    let found = prefix == .asking ? nodes.connection(toNew: address) : nodes.connection(to: address)
                    guard let found else {
                        if closed || prefix == .asking { throw GlideError(.clientClosed, "the client was closed") }
                        throw GlideError(.routing, "\(address) is not a node of the cluster")
                    }
                    connection = found
                }
                let result: Result<ConnectionReply, GlideError>
                let deadline = machine.deadline
                func send(_ replies: Int, _ encode: @Sendable (inout RESPCommandBuffer) -> Void) async
                    -> Result<ConnectionReply, GlideError>
                {
                    if onLoan {
                        return await core.sendOnLoan(
                            to: connection.connector.address, deadline: deadline, replies: replies, encode: encode)
                    }
                    return await connection.send(deadline: deadline, replies: replies, encode: encode)
                }
                switch prefix {
                case .none:
                    result = await send(replies, encode)
                case .asking, .readOnly:
                    let command: StaticString = prefix == .asking ? "ASKING" : "READONLY"
                    result = await send(replies + 1) { buffer in
                        buffer.writeRESPCommand([command])
                        encode(&buffer)
                    }
                }
                let attempt = Attempt(result: result, node: connection.connector.address)
                last = attempt
                step = try event(attempt, replies: replies, for: &machine)
            }
            if let last, step.retries { core.events.retried(last.kind) }
        }
    }

    /// The event an attempt's outcome is for the machine, and the machine's step.
    private func event(_ attempt: Attempt, replies: Int, for machine: inout ClusterRequestStateMachine) throws(GlideError)
        -> ClusterRequestStateMachine.Step
    {
        switch attempt.result {
        case .success(let reply):
            guard reply.token.type.isError else { return machine.replied() }
            // A transaction the node refused (EXECABORT) says why in its queued replies.
            let cause = replies > 1 ? reply.queuedError ?? reply.token : reply.token
            return machine.repliedError(cause.stringBytes?.string ?? "", from: attempt.node, now: core.loop.now())
        case .failure(let error):
            if error.code == .clientClosed && closed { throw error }
            return machine.failed(error, at: attempt.node, now: core.loop.now())
        }
    }

    /// Waits until `until` on the loop's clock; `false` when the caller's task is cancelled
    /// first. (The send loop checks for a closed client before its next step.)
    func pause(until: Deadline) async -> Bool {
        await LoopPause.sleep(until: until, on: core.loop)
    }

    // MARK: Any route

    /// Sends a request as `decision` says and combines what comes back into one token, throwing
    /// `.routing` before sending when the replies would not combine.
    func sendCombined(
        _ decision: RoutingDecision, name: String, readOnly: Bool, deadline: Deadline,
        encode: (inout RESPCommandBuffer) -> Void, arguments: () -> [Bytes]
    ) async throws(GlideError) -> RESPToken {
        if !decision.target.isSingleNode && decision.aggregation == .perNode {
            throw GlideError(
                .routing,
                "\(name) has a reply per node in a cluster; use execute(_:route:) or a "
                    + "customCommand route to get them by node")
        }
        if name == "SCAN" { throw GlideClusterClient.scanRefusal }
        switch try await send(decision, name: name, readOnly: readOnly, deadline: deadline, encode: encode, arguments: arguments) {
        case .single(let token):
            return token
        case .perNode:
            throw GlideError(.routing, "\(name) replied per node")
        }
    }

    /// Sends a request as `decision` says: to one node, to several (replies combined by the
    /// decision's aggregation, or kept by node), or split by slot.
    ///
    /// `explicitRoute` says the caller chose the target: a replica route then means a replica,
    /// whatever `readFrom` says; otherwise reads go to replicas only when `readFrom` allows.
    func send(
        _ decision: RoutingDecision, name: String, readOnly: Bool, deadline: Deadline, explicitRoute: Bool = false,
        blocking: Bool = false, encode: (inout RESPCommandBuffer) -> Void, arguments: () -> [Bytes]
    ) async throws(GlideError) -> ClusterReplies {
        var encoded = RESPCommandBuffer()
        encode(&encoded)
        let request = encoded
        switch decision.target {
        case .slot(let slot, let replicaAllowed):
            let replica = replicaAllowed && (explicitRoute || configuration.readFrom != .primary)
            if blocking, !explicitRoute, core.lendsConnection(toBlocking: name) {
                return .single(try await sendOnLoan(toSlot: slot, readOnly: readOnly, deadline: deadline) { $0.append(request) })
            }
            return .single(try await send(toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline) { $0.append(request) })
        case .randomNode(let primaryOnly):
            guard let (address, _) = nodes.anyNode(primaryOnly: primaryOnly) else {
                throw GlideError(.routing, "the client knows no node of the cluster")
            }
            return .single(try await sendOnce(request, to: address, deadline: deadline, readOnly: readOnly))
        case .address(let address):
            return .single(try await sendOnce(request, to: address, deadline: deadline, readOnly: readOnly))
        case .allNodes, .allPrimaries:
            let targets = decision.target == .allNodes ? nodes.allNodes() : nodes.primaries()
            guard !targets.isEmpty else { throw GlideError(.routing, "the client knows no node of the cluster") }
            let replies = try await fanOut(targets.map { .node($0.0, request) }, readOnly: readOnly, deadline: deadline)
            if decision.aggregation == .perNode {
                return .perNode(Dictionary(zip(targets.map(\.0), replies), uniquingKeysWith: { first, _ in first }))
            }
            return .single(try ReplyCombining.combine(replies, by: decision.aggregation, name: name))
        case .splitBySlot(let replicaAllowed):
            guard let metadata = CommandTable.metadata(named: name), let split = Router.splitBySlot(request, metadata: metadata) else {
                // A shape that can't be split goes whole to its first key's slot; the server
                // says CROSSSLOT.
                let all = arguments()
                let slot = Router.keySlots(of: all, metadata: CommandTable.metadata(for: all)).firstSlot ?? 0
                return .single(try await send(toSlot: slot, replica: false, readOnly: readOnly, deadline: deadline) { $0.append(request) })
            }
            let replica = replicaAllowed && configuration.readFrom != .primary
            let parts = try await sendSplit(
                split.parts.map { ($0.slot, split.command($0)) }, replica: replica, readOnly: readOnly, deadline: deadline)
            return .single(try ReplyCombining.combine(parts, of: split, by: decision.aggregation, name: name))
        }
    }

    /// One request of a fan-out.
    enum FanOutRequest: Sendable {
        /// A pre-encoded request to one node; its server error is a reply, not a failure.
        case node(NodeAddress, RESPCommandBuffer)
        /// One slot's part of a split command, encoded, on from its first attempt when one was
        /// made (`sendSplit`).
        case part(UInt16, Bytes, replica: Bool, after: Attempt?)
    }

    /// Sub-requests of one fan-out in flight at once: enough to keep every node's connection
    /// busy, few enough that a split `MGET` of thousands of slots stays within the in-flight limit.
    static var fanOutWidth: Int { 128 }

    /// Runs `requests`, up to `fanOutWidth` at a time, and returns their replies in order; the
    /// first failure throws.
    func fanOut(_ requests: [FanOutRequest], readOnly: Bool, deadline: Deadline) async throws(GlideError) -> [RESPToken] {
        let results = await withTaskGroup(of: (Int, Result<RESPToken, GlideError>).self) { group in
            var next = 0
            func startNext() {
                guard next < requests.count else { return }
                let index = next
                let request = requests[index]
                next += 1
                // Each child calls a method instead of holding a typed `do`/`catch` itself: built with -O
                // by Swift 6.3.1, such children here lost their results (a group that returned nothing).
                group.addTask { (index, await self.run(request, readOnly: readOnly, deadline: deadline)) }
            }
            for _ in 0..<min(Self.fanOutWidth, requests.count) { startNext() }
            var collected = [Result<RESPToken, GlideError>?](repeating: nil, count: requests.count)
            while let (index, result) = await group.next() {
                collected[index] = result
                startNext()
            }
            return collected
        }
        var replies: [RESPToken] = []
        replies.reserveCapacity(results.count)
        for result in results {
            switch result! {
            case .success(let token): replies.append(token)
            case .failure(let error): throw error
            }
        }
        return replies
    }

    /// One request of a fan-out, with its failure as a value.
    func run(_ request: FanOutRequest, readOnly: Bool, deadline: Deadline) async -> Result<RESPToken, GlideError> {
        do throws(GlideError) {
            switch request {
            case .node(let address, let encoded):
                return .success(
                    try await sendOnce(
                        encoded, to: address, deadline: deadline, readOnly: readOnly,
                        throwingServerErrors: false))
            case .part(let slot, let command, let replica, let first):
                return .success(
                    try await send(toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, after: first) {
                        $0.bytes.writeBytes(command)
                    }.token)
            }
        } catch {
            return .failure(error)
        }
    }
}
