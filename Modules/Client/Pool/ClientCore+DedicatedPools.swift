import GlideConnection
import GlideTransport

extension ClientCore {
    /// The pool of dedicated connections to `address`, made at its first borrower.
    func dedicatedPool(for address: NodeAddress) throws(GlideError) -> DedicatedPool<Loop, Connector> {
        let pool = dedicatedPools.withLock { pools -> DedicatedPool<Loop, Connector>? in
            // `nil` once the client closed: no pool is made after `closeDedicatedPools()`.
            guard pools != nil else { return nil }
            if let pool = pools?[address] { return pool }
            // The pool holds the core until `close()` (or the client's deinit) takes the pools away.
            // A connection opened before a `SELECT` on the client is not lent after it.
            let pool = DedicatedPool<Loop, Connector>(
                limits: options.dedicatedConnections, loop: loop, replyTimeout: options.checkTimeout,
                fits: { [self] in $0.database == selectedDatabase.load(ordering: .relaxed) }
            ) { [self] pool in
                makeUnsupervisedConnection(address, policy: .neverReconnects, observer: pool)
            }
            pools?[address] = pool
            return pool
        }
        guard let pool else { throw GlideError(.clientClosed, "the client was closed") }
        return pool
    }

    /// Closes every pool, and every later borrower fails: idle and lent connections close,
    /// waiting borrowers fail.
    func closeDedicatedPools() {
        let pools = dedicatedPools.withLock { pools in
            defer { pools = nil }
            return Array(pools?.values ?? [:].values)
        }
        for pool in pools { pool.close() }
    }

    /// Whether the blocking command `name` waits on a connection borrowed from its node's pool
    /// (`DedicatedPoolConfiguration.runsBlockingCommands`) rather than on the shared one, where
    /// every request behind it would wait too. `WAIT` and `WAITAOF` stay on the shared
    /// connection: they wait for the writes made on the connection they run on.
    func lendsConnection(toBlocking name: String) -> Bool {
        options.dedicatedConnections.runsBlockingCommands && name != "WAIT" && name != "WAITAOF"
    }

    /// Sends one blocking request on a connection borrowed from `address`'s pool, and gives the
    /// connection back once nothing is left in flight on it: answered, or cancelled and unblocked
    /// by the pool. One that timed out (its command may still be blocked on the server) or was
    /// lost is closed instead.
    ///
    /// `deadline` counts from when the connection is lent: the wait for one (at most the pool's
    /// `acquireTimeout`, a new connection's connect included) doesn't eat into the command's own
    /// blocking time.
    func sendOnLoan(
        to address: NodeAddress, deadline: Deadline, replies: Int = 1, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        let asked = loop.now()
        let pool: DedicatedPool<Loop, Connector>
        let lease: DedicatedPool<Loop, Connector>.Lease
        do throws(GlideError) {
            pool = try dedicatedPool(for: address)
            lease = try await pool.borrow()
        } catch {
            return .failure(error)
        }
        let lentAt = loop.now()
        let result = await lease.connection.send(
            deadline: deadline + (lentAt - asked), replies: replies, blocking: true, encode: encode)
        pool.giveBack(lease, reusable: lease.connection.inflightCount == 0 && pool.holds(lease))
        return result
    }
}
