import GlideRouter
import GlideTopology
import GlideTransport

/// Replies of a request that reached one node, or several whose replies don't combine.
enum ClusterReplies: Sendable {
    case single(RESPToken)
    case perNode([NodeAddress: RESPToken])
}

extension GlideClusterClient {
    /// Where a single-node request goes next.
    enum SlotTarget {
        /// The shard serving the slot (a replica when allowed).
        case slot(UInt16, replica: Bool)
        /// The node an `ASK` named, with `ASKING` first.
        case asking(NodeAddress)
    }

    // MARK: One slot

    /// Sends a request for `slot` and returns its reply, following redirections and retrying as
    /// `ClusterRecovery` decides, until `deadline`. Server errors that end the request throw.
    @usableFromInline
    func send(toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline,
              encode: @Sendable (inout RESPCommandBuffer) -> Void) async throws(GlideError) -> RESPToken {
        try await send(toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline, replies: 1, encode: encode).token
    }

    /// `send(toSlot:replica:readOnly:deadline:encode:)` for a request of `replies` replies (a
    /// transaction): the last reply comes back, with the first error among the others.
    func send(toSlot slot: UInt16, replica: Bool, readOnly: Bool, deadline: Deadline, replies: Int,
              encode: @Sendable (inout RESPCommandBuffer) -> Void) async throws(GlideError) -> ConnectionReply {
        var target = SlotTarget.slot(slot, replica: replica)
        var redirections = 0
        var waits = 0
        // The server condition (TRYAGAIN, CLUSTERDOWN, …) the request last waited out: when the
        // deadline ends the waiting, that condition is the cause, whether the deadline passed
        // during a pause or during the retry after it.
        var waitedFor: (token: RESPToken, node: NodeAddress)?
        while true {
            if closed { throw GlideError(.clientClosed, "the client was closed") }
            let connection: ClusterNodes.Connection
            var prefix: [StaticString] = []
            switch target {
            case .slot(let slot, let replica):
                guard let found = nodes.connection(forSlot: slot, replica: replica) else {
                    if closed { throw GlideError(.clientClosed, "the client was closed") }
                    // No shard serves the slot (yet): the topology may be catching up.
                    refresher.requestRefresh()
                    guard waits < ClusterRecovery.maximumWaits,
                          try await pause(ClusterRecovery.backoff(attempt: waits), before: deadline) else {
                        throw GlideError(.routing, "no node of the cluster serves slot \(slot)")
                    }
                    waits += 1
                    continue
                }
                connection = found
                // An explicit replica route on a client that otherwise reads from primaries:
                // the replica serves reads once told READONLY.
                if replica && configuration.readFrom == .primary { prefix = ["READONLY"] }
            case .asking(let address):
                guard let found = nodes.connection(toNew: address) else { throw GlideError(.clientClosed, "the client was closed") }
                connection = found
                prefix = ["ASKING"]
            }

            let result: Result<ConnectionReply, GlideError>
            if prefix.isEmpty {
                result = await connection.send(deadline: deadline, replies: replies, encode: encode)
            } else {
                let commands = prefix
                result = await connection.send(deadline: deadline, replies: replies + commands.count) { buffer in
                    for command in commands { buffer.writeRESPCommand(command) }
                    encode(&buffer)
                }
            }

            let node = connection.connector.address
            switch result {
            case .success(let reply):
                guard reply.token.type.isError else { return reply }
                // A transaction the node refused (EXECABORT) says why in its queued replies.
                let cause = replies > 1 ? reply.queuedError ?? reply.token : reply.token
                let message = cause.stringBytes?.string ?? ""
                switch ClusterRecovery.decide(serverError: message, from: node, redirections: redirections, waits: waits) {
                case .moved(let movedSlot, let address):
                    nodes.applyMoved(slot: movedSlot, to: address)
                    refresher.requestRefresh()
                    redirections += 1
                    target = .slot(movedSlot, replica: false)
                case .ask(let address):
                    redirections += 1
                    target = .asking(address)
                case .retry(let delay, let refresh):
                    if refresh { refresher.requestRefresh() }
                    waitedFor = (cause, node)
                    guard try await pause(delay, before: deadline) else { throw Self.gaveUp(waitingFor: cause, at: node, waits: waits) }
                    waits += 1
                    // TRYAGAIN from the node an ASK named (a multi-key request whose keys are
                    // split by the migration): ask that node again, not the source.
                    if case .asking = target, message.hasPrefix("TRYAGAIN") { continue }
                    target = .slot(slot, replica: false)
                case .fail:
                    if replies > 1 { return reply }  // the caller explains a failed transaction
                    throw GlideError.server(reply.token, address: node.description)
                }
            case .failure(let error):
                if error.code == .timeout, let (cause, node) = waitedFor { throw Self.gaveUp(waitingFor: cause, at: node, waits: waits) }
                if error.code == .clientClosed {
                    if closed { throw error }
                    // The node left the topology and its connection was retired with this request
                    // on it. A read is tried again where the map now says; a write may have run.
                    guard readOnly, redirections < ClusterRecovery.maximumRedirections else {
                        throw GlideError(.connectionClosed, "the node left the cluster while the request was in flight; "
                                         + "it may or may not have run", address: node.description)
                    }
                    redirections += 1
                    target = .slot(slot, replica: false)
                    continue
                }
                if error.code == .connectionFailed || error.code == .connectionClosed { refresher.requestRefresh() }
                switch ClusterRecovery.decide(connectionError: error, readOnly: readOnly, waits: waits) {
                case .retry(let delay, _):
                    guard try await pause(delay, before: deadline) else { throw error }
                    waits += 1
                    target = .slot(slot, replica: false)
                default:
                    throw error
                }
            }
        }
    }

    /// The error of a request whose deadline ended its waiting out of a server condition: a
    /// timeout, tagged with the condition's code (`TRYAGAIN`, `CLUSTERDOWN`, …) and message.
    static func gaveUp(waitingFor cause: RESPToken, at node: NodeAddress, waits: Int) -> GlideError {
        let message = cause.stringBytes?.string ?? ""
        return GlideError(.timeout, "the request timed out after waiting out \(waits + 1) replies of: \(message)",
                          serverCode: cause.errorCode, address: node.description)
    }

    /// Sleeps for `delay` when there is time for it before `deadline`; `false` when there isn't,
    /// or when the caller's task is cancelled. Throws `.clientClosed` once the client is closed.
    func pause(_ delay: Duration, before deadline: Deadline) async throws(GlideError) -> Bool {
        guard Deadline.now() + delay < deadline, !Task.isCancelled else { return false }
        do {
            try await Task.sleep(for: delay)
        } catch {
            return false  // cancelled while waiting
        }
        if closed { throw GlideError(.clientClosed, "the client was closed") }
        return true
    }

    // MARK: Any route

    /// Sends a request as `decision` says and combines what comes back into one token, throwing
    /// `.routing` before sending when the replies would not combine.
    @usableFromInline
    func sendCombined(_ decision: RoutingDecision, name: String, readOnly: Bool, deadline: Deadline,
                      encode: (inout RESPCommandBuffer) -> Void, arguments: () -> [Bytes]) async throws(GlideError) -> RESPToken {
        if !decision.target.isSingleNode && decision.aggregation == .perNode {
            throw GlideError(.routing, "\(name) has a reply per node in a cluster; use execute(_:route:) or a "
                             + "customCommand route to get them by node")
        }
        if name == "SCAN" { throw Self.scanRefusal }
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
    func send(_ decision: RoutingDecision, name: String, readOnly: Bool, deadline: Deadline, explicitRoute: Bool = false,
              encode: (inout RESPCommandBuffer) -> Void, arguments: () -> [Bytes]) async throws(GlideError) -> ClusterReplies {
        var encoded = RESPCommandBuffer()
        encode(&encoded)
        let request = encoded
        switch decision.target {
        case .slot(let slot, let replicaAllowed):
            let replica = replicaAllowed && (explicitRoute || configuration.readFrom != .primary)
            return .single(try await send(toSlot: slot, replica: replica, readOnly: readOnly, deadline: deadline) { $0.append(request) })
        case .randomNode(let primaryOnly):
            guard let (address, connection) = nodes.anyNode(primaryOnly: primaryOnly) else {
                throw GlideError(.routing, "the client knows no node of the cluster")
            }
            return .single(try await sendOnce(request, to: connection, at: address, deadline: deadline, readOnly: readOnly))
        case .address(let address):
            guard let connection = nodes.connection(to: address) else {
                throw GlideError(.routing, "\(address) is not a node of the cluster")
            }
            return .single(try await sendOnce(request, to: connection, at: address, deadline: deadline, readOnly: readOnly))
        case .allNodes, .allPrimaries:
            let targets = decision.target == .allNodes ? nodes.allNodes() : nodes.primaries()
            guard !targets.isEmpty else { throw GlideError(.routing, "the client knows no node of the cluster") }
            let replies = try await fanOut(targets.map { .node($0.0, $0.1, request) }, readOnly: readOnly, deadline: deadline)
            if decision.aggregation == .perNode {
                return .perNode(Dictionary(zip(targets.map(\.0), replies), uniquingKeysWith: { first, _ in first }))
            }
            return .single(try combine(replies, by: decision.aggregation, name: name))
        case .splitBySlot(let replicaAllowed):
            let all = arguments()
            guard let metadata = CommandTable.metadata(for: all), let batches = Router.splitBySlot(all, metadata: metadata) else {
                // A shape that can't be split goes whole to its first key's slot; the server
                // says CROSSSLOT.
                let slot = Router.keySlots(of: all, metadata: CommandTable.metadata(for: all)).firstSlot ?? 0
                return .single(try await send(toSlot: slot, replica: false, readOnly: readOnly, deadline: deadline) { $0.append(request) })
            }
            let replica = replicaAllowed && configuration.readFrom != .primary
            let parts = try await fanOut(batches.map { .batch($0, replica: replica) }, readOnly: readOnly, deadline: deadline)
            if decision.aggregation == .combineArrays {
                let keyCount = batches.reduce(0) { $0 + $1.keyPositions.count }
                let combined: RESPValue
                do throws(AggregationError) {
                    combined = try Router.reassemble(parts.map { RESPValue($0) }, positions: batches.map(\.keyPositions), keyCount: keyCount)
                } catch {
                    throw GlideError(.protocolError, "\(name): \(error.message)")
                }
                return .single(try token(combined))
            }
            return .single(try combine(parts, by: decision.aggregation, name: name))
        }
    }

    /// Sends a pre-encoded request to one chosen node (by address, or for a keyless command).
    /// Nothing redirects such a request; transient conditions (`LOADING`, `TRYAGAIN`,
    /// `CLUSTERDOWN`, a node that can't be reached) are waited out as `ClusterRecovery` says,
    /// within the deadline.
    func sendOnce(_ request: RESPCommandBuffer, to connection: ClusterNodes.Connection, at address: NodeAddress,
                  deadline: Deadline, readOnly: Bool = false, throwingServerErrors: Bool = true) async throws(GlideError) -> RESPToken {
        var waits = 0
        while true {
            if closed { throw GlideError(.clientClosed, "the client was closed") }
            switch await connection.send(deadline: deadline, encode: { $0.append(request) }) {
            case .failure(let error):
                if error.code == .connectionFailed || error.code == .connectionClosed { refresher.requestRefresh() }
                guard case .retry(let delay, _) = ClusterRecovery.decide(connectionError: error, readOnly: readOnly, waits: waits),
                      try await pause(delay, before: deadline) else { throw error }
            case .success(let reply):
                guard reply.token.type.isError else { return reply.token }
                let message = reply.token.stringBytes?.string ?? ""
                switch ClusterRecovery.decide(serverError: message, from: address, redirections: 0, waits: waits) {
                case .retry(let delay, let refresh):
                    if refresh { refresher.requestRefresh() }
                    if try await pause(delay, before: deadline) { break }
                    fallthrough
                default:
                    if throwingServerErrors { throw GlideError.server(reply.token, address: address.description) }
                    return reply.token
                }
            }
            waits += 1
        }
    }

    /// One request of a fan-out.
    enum FanOutRequest: Sendable {
        /// A pre-encoded request to one node; its server error is a reply, not a failure.
        case node(NodeAddress, ClusterNodes.Connection, RESPCommandBuffer)
        /// One slot's part of a split command.
        case batch(SlotBatch, replica: Bool)
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
            case .node(let address, let connection, let encoded):
                return .success(try await sendOnce(encoded, to: connection, at: address, deadline: deadline, readOnly: readOnly,
                                                   throwingServerErrors: false))
            case .batch(let batch, let replica):
                return .success(try await send(toSlot: batch.slot, replica: replica, readOnly: readOnly, deadline: deadline) {
                    $0.writeRESPCommand(batch.arguments)
                })
            }
        } catch {
            return .failure(error)
        }
    }

    /// Combines replies by `aggregation` into one token; a server error among them throws.
    func combine(_ replies: [RESPToken], by aggregation: ResponseAggregation, name: String) throws(GlideError) -> RESPToken {
        let combined: RESPValue
        do throws(AggregationError) {
            combined = try Router.aggregate(replies.map { RESPValue($0) }, by: aggregation)
        } catch {
            throw GlideError(.protocolError, "\(name): \(error.message)")
        }
        let result = try token(combined)
        if result.type.isError { throw GlideError.server(result, address: nil) }
        return result
    }

    /// A combined value as a token, for the command's own decoding.
    func token(_ value: RESPValue) throws(GlideError) -> RESPToken {
        do {
            return try RESPToken(validating: value.encoded())
        } catch {
            throw GlideError(.protocolError, "could not re-encode a combined reply: \(error)")
        }
    }
}
