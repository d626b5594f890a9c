extension ConnectionStateMachine {
    // MARK: Requests

    /// Queues request `id`, whose `replies` replies go to `waiter`; `encode` appends its bytes.
    ///
    /// With `defersWrite` (a caller on the loop thread), a caller that takes the writer role gets
    /// an empty job to run later in the loop's turn, rather than its own bytes now: the callers the
    /// turn resumes queue behind it, and the job takes them all, so they leave in one write.
    // Inlined into its caller: the action is then built where it is switched on, not returned
    // through memory and copied.
    @inline(__always)
    package mutating func enqueue(
        _ waiter: Waiter, id: UInt64, deadline: Deadline, replies: Int = 1, blocking: Bool = false,
        confirmation: PubSubConfirmation? = nil, collectsReplies: Bool = false, defersWrite: Bool = false,
        sampledAt: Deadline? = nil, encode: (inout RESPCommandBuffer) -> Void
    ) -> (action: Action, armTimer: Deadline?) {
        enqueue(
            waiter, id: id, deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation,
            collectsReplies: collectsReplies, defersWrite: defersWrite, sampledAt: sampledAt, now: nil, encode: encode)
    }

    /// `enqueue`, where `now` (given under adaptive timeouts only) is when the request is queued:
    /// a single request on a ready connection then gets the node's adaptive deadline when that is
    /// sooner than its own.
    @inline(__always)
    package mutating func enqueue(
        _ waiter: Waiter, id: UInt64, deadline: Deadline, replies: Int = 1, blocking: Bool = false,
        confirmation: PubSubConfirmation? = nil, collectsReplies: Bool = false, defersWrite: Bool = false,
        sampledAt: Deadline?, now: Deadline?, encode: (inout RESPCommandBuffer) -> Void
    ) -> (action: Action, armTimer: Deadline?) {
        switch state {
        case .closed, .modifying:
            return (.fail(waiter, Self.closedSummary), nil)
        case .failed(let failure, retryOnDemand: false):
            return (.fail(waiter, failure), nil)
        case .disconnected(let failure) where !policy.waitsThroughFailedAttempts:
            return (.fail(waiter, failure), nil)
        default:
            break
        }
        guard inflightCount < inflightLimit else {
            return (
                .fail(
                    waiter,
                    GlideErrorSummary(
                        .tooManyInflightRequests, "\(inflightCount) requests are already waiting for replies (limit \(inflightLimit))")),
                nil
            )
        }
        var deadline = deadline
        var adaptive = false
        // `now` comes with adaptive timeouts only. A request waiting for a connection waits for
        // it, not for the node's pace; a pipeline's replies take longer than one.
        if let now, replies == 1, !blocking, readyWriter != nil, let timeout = adaptiveTimeout {
            let shorter = timeout.deadline(deadline, now: now)
            adaptive = shorter < deadline
            deadline = shorter
        }
        encode(&outbound)
        // Timed only on a ready connection: a wait for a connection is not the node's pace.
        let queuedAt = readyWriter != nil ? sampledAt?.uptimeNanoseconds ?? 0 : 0
        pending.append(
            Pending(
                waiter: waiter, id: id, deadline: deadline, repliesLeft: replies, queuedError: nil,
                end: outbound.mark, blocking: blocking, confirmation: confirmation,
                collected: collectsReplies ? Self.collection(capacity: replies - 1) : nil, fate: .waiting,
                repliesAtEnqueue: repliesReceived, queuedAt: queuedAt, adaptive: adaptive))
        let armTimer = arm(deadline)
        guard let current = readyWriter else {
            switch state {
            case .idle, .failed: return (.connect(generation: beginConnecting()), armTimer)
            default: return (.none, armTimer)
            }
        }
        guard current == .idle else { return (.none, armTimer) }
        if defersWrite {
            writer = .active
            let stream = withLink { $0.stream }!
            return (.write(WriteJob(stream: stream, generation: generation, writes: PendingWrites(), recyclable: Bytes())), armTimer)
        }
        return (takeWrites().map { .write($0) } ?? .none, armTimer)
    }

    /// An empty array for `capacity` replies.
    package static func collection(capacity: Int) -> [RESPToken] {
        var replies: [RESPToken] = []
        replies.reserveCapacity(capacity)
        return replies
    }

    /// Queues a heartbeat `PING` (no waiter: its reply is discarded) when the connection is ready
    /// and idle: nothing waits, and nothing was received since the last check. An unanswered one
    /// ages like a timed-out request, so a silent peer is declared dead (see `timerFired`).
    package mutating func heartbeat(id: UInt64, deadline: Deadline) -> (action: Action, armTimer: Deadline?)? {
        defer { repliesAtLastCheck = repliesReceived }
        guard let current = readyWriter, pending.isEmpty, repliesReceived == repliesAtLastCheck else { return nil }
        outbound.writeRESPCommand("PING" as StaticString)
        pending.append(
            Pending(
                waiter: nil, id: id, deadline: deadline, repliesLeft: 1, queuedError: nil,
                end: outbound.mark, blocking: false, confirmation: nil, collected: nil, fate: .waiting))
        let armTimer = arm(deadline)
        guard current == .idle else { return (.none, armTimer) }
        return (takeWrites().map { .write($0) } ?? .none, armTimer)
    }

    /// Hands the queued bytes (after any the socket refused earlier) to a writer.
    /// Only while ready: the writer role is then the caller's, or nobody's when nothing waits.
    package mutating func takeWrites() -> WriteJob? {
        guard case .ready(var link) = state else { return nil }
        state = .modifying
        defer { state = .ready(link) }
        if droppedCount > 0 { removeDropped() }
        // Taken out, not copied, so appending to them doesn't copy the stalled writes.
        var writes = PendingWrites()
        if writer == .blocked { swap(&writes, &link.stalled) }
        let taken = outbound
        taken.forEachChunk { writes.append($0) }
        unsentStart = pending.count
        guard !writes.isEmpty else {
            writer = .idle
            return nil
        }
        outbound = RESPCommandBuffer()
        outbound.bytes = spare ?? Bytes(capacity: Self.outboundCapacity)
        spare = nil
        writer = .active
        batchesTaken &+= 1
        return WriteJob(stream: link.stream, generation: generation, writes: writes, recyclable: taken.bytes)
    }

    /// Removes the dropped unsent requests and their bytes: one pass over the unsent ones, on the
    /// rare path where something was cancelled or expired before being sent.
    private mutating func removeDropped() {
        var unsent: [Pending] = []
        unsent.reserveCapacity(pending.count - unsentStart)
        while pending.count > unsentStart { unsent.append(pending.popLast()!) }
        var kept = RESPCommandBuffer(capacity: outbound.bytes.readableBytes)
        var start = RESPCommandBuffer.Mark.start
        for var request in unsent.reversed() {
            let end = request.end
            if request.fate != .dropped {
                kept.append(outbound, from: start, to: end)
                request.end = kept.mark
                pending.append(request)
            }
            start = end
        }
        outbound = kept
        droppedCount = 0
    }

    /// The writer wrote what it could of `job`; what is left in `job.writes` the socket refused.
    package mutating func writeFinished(_ job: inout WriteJob, mayContinue: Bool) -> Action {
        guard job.generation == generation, readyWriter == .active else {
            return .none  // a writer of a lost connection: its bytes die with it
        }
        if !job.writes.isEmpty {
            writer = .blocked
            withLink { link in swap(&link.stalled, &job.writes) }
            return .awaitWritable(generation: generation)
        }
        // Swapped out rather than copied, so this is the only reference and the storage is reused.
        var buffer = Bytes()
        swap(&buffer, &job.recyclable)
        recycle(&buffer)
        guard !outbound.isEmpty else {
            writer = .idle
            return .none
        }
        guard mayContinue else {
            // The writer has done its share; the loop takes over without the role changing hands.
            return .awaitWritable(generation: generation)
        }
        return takeWrites().map { .write($0) } ?? .none
    }

    private mutating func recycle(_ buffer: inout Bytes) {
        guard spare == nil, buffer.capacity > 0, buffer.capacity <= Self.largestRecycledBuffer, buffer.isUniquelyReferenced() else {
            return
        }
        buffer.clear()
        spare = Bytes()
        swap(&spare!, &buffer)
    }

    /// The socket drained: the loop takes the writer role and writes what waits.
    package mutating func writable(generation: Int) -> Action {
        guard generation == self.generation, let current = readyWriter, current != .idle else { return .none }
        return takeWrites().map { .write($0) } ?? .none
    }

    // MARK: Replies

    /// A reply arrived outside the handshake on the connection of `generation`. Bytes still read
    /// from a connection that was given up are dropped: they must never reach a caller queued for
    /// the next connection.
    // Inlined into the loop's reply path, for the reason `enqueue` is.
    @inline(__always)
    package mutating func replyReceived(_ token: RESPToken, generation: Int) -> Action {
        guard generation == self.generation, case .ready = state else { return .none }
        if token.type == .push {
            // Out of band, unless it confirms the subscription command at the head of the queue:
            // of its kind, so the server's own `sunsubscribe` (a slot that moved away) never
            // answers a `SSUBSCRIBE`.
            guard unsentStart > 0, let expected = pending[0].confirmation,
                PubSubPush.confirmation(of: token) == expected
            else { return .push(token) }
        } else if policy.pushesInArrays && token.type == .array {
            // RESP2 subscriber connections only (a constant `false` test elsewhere): messages and
            // confirmations are arrays; anything else (`PING`'s `pong`) is a reply.
            switch PubSubPush(token) {
            case .message: return .push(token)
            case .confirmation(let confirmation, _):
                guard unsentStart > 0, pending[0].confirmation == confirmation else { return .push(token) }
            case .other, .malformed: break
            }
        }
        guard unsentStart > 0 else {
            return policy.unrequestedRepliesArePushes ? .push(token) : .unexpectedReply(generation: generation)
        }
        repliesReceived &+= 1
        pending[0].repliesLeft -= 1
        if pending[0].repliesLeft > 0 {
            // A refused subscription command has one error for all its channels.
            if pending[0].confirmation != nil && token.type.isError {
                pending[0].repliesLeft = 0
            } else {
                if pending[0].collected != nil {
                    pending[0].collected!.append(token)
                } else if pending[0].queuedError == nil && token.type.isError {
                    pending[0].queuedError = token
                }
                return .none
            }
        }
        let request = pending.popFirst()!
        unsentStart -= 1
        if request.queuedAt != 0 {
            latency.record(queued: Deadline(uptimeNanoseconds: request.queuedAt), now: replyTime)
            if adaptiveTimeout != nil {
                adaptiveTimeout!.replied(
                    after: .nanoseconds(replyTime.uptimeNanoseconds &- request.queuedAt),
                    late: request.waiter == nil && request.adaptive,
                    window: latency, now: replyTime)
            }
        }
        guard let waiter = request.waiter else { return .none }
        if request.fate == .unblocking && token.isNull { return .fail(waiter, Self.cancelledSummary) }
        return .resume(waiter, ConnectionReply(token: token, queuedError: request.queuedError, earlier: request.collected))
    }

    // MARK: Cancellation

    /// The task of request `id` was cancelled. An unsent request is dropped and never runs; a sent
    /// one's reply is discarded; a sent blocking command is unblocked on the server first, so a
    /// value the server hands it before the unblock lands still reaches its caller.
    package mutating func cancel(_ id: UInt64) -> Action {
        guard phase != .closed, let index = index(of: id), let waiter = pending[index].waiter,
            pending[index].fate == .waiting
        else { return .none }
        if index >= unsentStart {
            pending[index].waiter = nil
            pending[index].fate = .dropped
            droppedCount += 1
            return .fail(waiter, Self.cancelledSummary)
        }
        guard pending[index].blocking else {
            pending[index].waiter = nil
            pending[index].adaptive = false
            return .fail(waiter, Self.cancelledSummary)
        }
        pending[index].fate = .unblocking
        guard let clientID = info?.clientID else { return .loseConnection(generation: generation, Self.unblockDropSummary) }
        return .unblock(clientID: clientID, requestID: id, generation: generation)
    }

    /// Why a connection is dropped to end a cancelled blocking command that can't be unblocked.
    package static var unblockDropSummary: GlideErrorSummary {
        GlideErrorSummary(.connectionClosed, "the connection was dropped to end a cancelled blocking command")
    }

    /// Whether request `id` still waits for the server to unblock it.
    package func isUnblocking(_ id: UInt64) -> Bool {
        index(of: id).map { pending[$0].fate == .unblocking } ?? false
    }

    /// Where request `id` is in the queue; a linear search, on the rare cancellation path.
    package func index(of id: UInt64) -> Int? {
        var index = pending.count - 1
        while index >= 0 {
            if pending[index].id == id { return index }
            index -= 1
        }
        return nil
    }
}
