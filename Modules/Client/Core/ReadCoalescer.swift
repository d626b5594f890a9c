import GlideBuffers
import GlideConnection
import GlideRESPCodec
import GlideTransport

/// Identical read-only requests in flight at once on one connection share one round trip
/// (`coalescesReads`): the first is sent, and the others, while its bytes still wait to be
/// written, take its reply.
///
/// A request joins only while the one it joins is unsent, so the shared reply comes from a read
/// that runs after the joiner started: a write that completed before a read started is never
/// hidden from it. It joins only a request whose deadline is no later than its own, and a failed
/// request's joiners send their own, so nobody waits past their deadline or shares an error.
final class ReadCoalescer: Sendable {
    /// Requests being sent, by their bytes.
    private let flights = Lock<[Bytes: Flight]>([:])

    /// One request and those waiting for its reply.
    final class Flight: Sendable {
        let connection: ObjectIdentifier
        let batchesWritten: Int
        let deadline: Deadline
        private let state = Lock<State>(State())

        private struct State {
            var outcome: Result<RESPToken, GlideError>?
            var waiters: [UInt64: UnsafeContinuation<Result<RESPToken, GlideError>?, Never>] = [:]
            var nextWaiter: UInt64 = 0
        }

        init(connection: ObjectIdentifier, batchesWritten: Int, deadline: Deadline) {
            self.connection = connection
            self.batchesWritten = batchesWritten
            self.deadline = deadline
        }

        /// The shared reply, or `nil` when the request failed or this waiter was cancelled: the
        /// caller then sends its own.
        func reply() async -> RESPToken? {
            let waiter = state.withLock { state -> UInt64 in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            // The entry point that runs where its caller does, as `NodeConnection`'s waits use:
            // the `isolation:` overload switches executor on entry and return.
            let outcome = await _unsafeInheritExecutor_withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<RESPToken, GlideError>?, Never>) in
                    let done: Result<RESPToken, GlideError>?? = state.withLock { state in
                        if let outcome = state.outcome { return .some(outcome) }
                        if Task.isCancelled { return .some(nil) }
                        state.waiters[waiter] = continuation
                        return nil
                    }
                    if let done { continuation.resume(returning: done) }
                }
            } onCancel: {
                state.withLock { $0.waiters.removeValue(forKey: waiter) }?.resume(returning: nil)
            }
            guard case .success(let token)? = outcome, !token.type.isError else { return nil }
            return token
        }

        /// How many wait for the reply, for tests.
        var waiterCount: Int { state.withLock { $0.waiters.count } }

        /// Hands `outcome` to every waiter.
        func finish(_ outcome: Result<RESPToken, GlideError>) {
            let waiters = state.withLock { state in
                state.outcome = outcome
                defer { state.waiters = [:] }
                return state.waiters
            }
            for waiter in waiters.values { waiter.resume(returning: outcome) }
        }
    }

    /// How many wait for the reply of `request`'s request in flight, for tests.
    func waiters(of request: Bytes) -> Int { flights.withLock { $0[request] }?.waiterCount ?? 0 }

    /// The reply to `request` on `connection`: shared with an identical request still waiting
    /// to be written there, or sent by `send`.
    func read<Connection: AnyObject & Sendable>(
        _ request: Bytes, on connection: Connection, batchesWritten: @Sendable (Connection) -> Int, deadline: Deadline,
        send: () async -> Result<RESPToken, GlideError>
    ) async -> Result<RESPToken, GlideError> {
        let identity = ObjectIdentifier(connection)
        let joined: Flight? = flights.withLock { flights in
            guard let flight = flights[request], flight.connection == identity, flight.batchesWritten == batchesWritten(connection),
                flight.deadline <= deadline
            else { return nil }
            return flight
        }
        if let joined, let token = await joined.reply() { return .success(token) }
        // Counted before this request is queued: joiners check that no batch left since.
        let flight = Flight(connection: identity, batchesWritten: batchesWritten(connection), deadline: deadline)
        flights.withLock { $0[request] = flight }
        let outcome = await send()
        flights.withLock { flights in
            if flights[request] === flight { flights[request] = nil }
        }
        flight.finish(outcome)
        return outcome
    }
}

extension ReadCoalescer {
    /// The reply to `request`, a single read-only request, on `connection`: shared with an
    /// identical one not yet written there, or sent.
    func read<Loop: EventLoop, Connector: StreamConnector>(
        _ request: RESPCommandBuffer, on connection: NodeConnection<Loop, Connector>, deadline: Deadline
    ) async -> Result<ConnectionReply, GlideError> {
        let written: @Sendable (NodeConnection<Loop, Connector>) -> Int = { $0.batchesWritten }
        return await read(request.contiguousBytes, on: connection, batchesWritten: written, deadline: deadline) {
            await connection.send(deadline: deadline) { $0.append(request) }.map(\.token)
        }.map { ConnectionReply(token: $0, queuedError: nil) }
    }
}
