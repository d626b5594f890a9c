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
            let pool = DedicatedPool<Loop, Connector>(limits: options.dedicatedConnections, loop: loop) { [self] in
                makeUnsupervisedConnection(address, policy: .neverReconnects)
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
}
