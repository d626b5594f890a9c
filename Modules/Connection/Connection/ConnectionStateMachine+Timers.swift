extension ConnectionStateMachine {
    /// What a timer firing decided.
    package struct Expiry {
        /// The waiters of requests past their deadline.
        package var resumptions: [Resumption] = []
        /// Arm the timer for this deadline.
        package var next: Deadline?
        /// Then: `.tearDown` for an attempt that ran out of time, `.loseConnection` for a
        /// connection whose oldest reply is overdue far beyond its timeout (the server or the path
        /// to it is gone: a black hole sends no reset), or `.none`.
        package var action = Action.none
    }

    /// The loop timer fired at `now`: fail overdue requests, give up an attempt past its
    /// deadline, and say when to fire next.
    ///
    /// A sent request past its deadline fails with `.timeout` and stays queued without a waiter,
    /// so its late reply is read and dropped. An unsent one is dropped and never runs: with no
    /// connection it fails `.connectionFailed`, naming why there is none.
    package mutating func timerFired(now: Deadline) -> Expiry {
        var expiry = Expiry()
        // Timers can't be cancelled: one firing before the armed deadline was superseded by an
        // earlier one and finds nothing due; re-arming for it would only pile timers up.
        guard now >= armedTimer else { return expiry }
        var next = Deadline.distantFuture
        var sentTimedOut = false
        // A full scan, but only when the timer fires (about once per timeout period), never per request.
        for index in 0..<pending.count where pending[index].waiter != nil {
            guard pending[index].deadline <= now else {
                if pending[index].deadline < next { next = pending[index].deadline }
                continue
            }
            let waiter = pending[index].waiter!
            pending[index].waiter = nil
            if index >= unsentStart {
                pending[index].fate = .dropped
                droppedCount += 1
                expiry.resumptions.append(.failure(waiter, notSentSummary))
            } else if pending[index].fate == .unblocking {
                expiry.resumptions.append(.failure(waiter, Self.cancelledSummary))
            } else {
                expiry.resumptions.append(.failure(waiter, sentTimeoutSummary(at: index, now: now)))
                // Only the adaptive deadline's own expiries say the node is slower than it thought.
                if pending[index].adaptive { sentTimedOut = true }
            }
        }
        if sentTimedOut { adaptiveTimeout?.timedOut(now: now) }
        switch state {
        case .ready:
            if let oldest = pending.first, unsentStart > 0, oldest.waiter == nil {
                let giveUp = oldest.deadline + staleReplyGrace
                if giveUp <= now {
                    expiry.action = .loseConnection(generation: generation, Self.staleSummary)
                } else if giveUp < next {
                    next = giveUp
                }
            }
        case .connecting(let attempt), .handshaking(let attempt, _, _):
            if attempt.deadline <= now {
                expiry.action = .tearDown(attemptFailed(attemptTimeoutSummary))
            } else if attempt.deadline < next {
                next = attempt.deadline
            }
        default:
            break
        }
        armedTimer = next
        expiry.next = next == .distantFuture ? nil : next
        return expiry
    }

    /// Why the sent request at `index` of `pending` got no reply in time, from what the connection
    /// saw meanwhile: the requests queued before it that are still unanswered (the server is slow,
    /// or one of them is), and whether any reply came back since it was queued (if none did, the
    /// server or the path to it stalled); and how fast the node has been answering, with a timeout
    /// that would cover that pace.
    package func sentTimeoutSummary(at index: Int, now: Deadline) -> GlideErrorSummary {
        let replies = repliesReceived &- pending[index].repliesAtEnqueue
        let ahead = "\(index) \(index == 1 ? "request" : "requests") still unanswered"
        let came = "\(replies) \(replies == 1 ? "reply" : "replies") came back since it was queued"
        let progress =
            switch (index, replies) {
            case (0, 0): "sent, and nothing came back since it was queued: the server or the path to it stalled"
            case (_, 0):
                "sent behind \(ahead), and nothing came back since it was queued: the server is busy with an earlier "
                    + "request, or it or the path to it stalled"
            case (0, _): "sent; \(came), then nothing"
            default: "sent behind \(ahead); \(came)"
            }
        let adaptive = pending[index].adaptive ? adaptiveTimeout?.current : nil
        let which = adaptive.map { "the node's adaptive timeout (\(NodeLatency.text($0)))" } ?? "the request timeout"
        guard let latency = latency.latency(at: now) else {
            return GlideErrorSummary(.timeout, "no reply within \(which): \(progress)")
        }
        return GlideErrorSummary(
            .timeout,
            "no reply within \(which): \(progress). Over the last minute this node answered with \(latency); "
                + "a request timeout of \(NodeLatency.text(latency.suggestedTimeout)) covers that pace",
            nodeLatency: latency)
    }

    /// Why a connection whose oldest reply is long overdue is given up.
    package static var staleSummary: GlideErrorSummary {
        GlideErrorSummary(.connectionClosed, "the server stopped answering: a reply is overdue well past its timeout")
    }

    /// Why an unsent request reached its deadline: the socket was full, or there was no connection.
    package var notSentSummary: GlideErrorSummary {
        if case .ready = state {
            return GlideErrorSummary(.timeout, "not sent within the request timeout: the connection was busy writing")
        }
        let why = lastFailure.map { "; \($0.message)" } ?? (phase == .connecting || phase == .handshaking ? "; connecting" : "")
        return GlideErrorSummary(
            .connectionFailed, "not sent: no connection within the request timeout\(why)",
            transportError: lastFailure?.transportError)
    }

    /// The attempt under way ran out of its connection timeout.
    package var attemptTimeoutSummary: GlideErrorSummary {
        let message =
            isHandshaking
            ? "the server did not answer the connection handshake within \(connectionTimeout)"
            : "could not connect within \(connectionTimeout)"
        return GlideErrorSummary(.connectionFailed, message, transportError: TransportError(.connectTimedOut, detail: message))
    }
}
