import GlideConnection
import GlideTransport

extension GlideClient {
    /// Runs `batch` and returns one result per command, in order.
    ///
    /// An atomic batch runs as `MULTI` … `EXEC` on the primary (or where reads go, when every
    /// command reads): a command the server refused to queue aborts it with that command's
    /// error. A non-atomic batch is pipelined: sent in one write and read back in order, each
    /// command running on its own.
    ///
    /// With `raiseOnError`, the first failed command's error throws; otherwise each failure is
    /// in the results, where reading its slot throws it. Returns `nil` only for an atomic batch
    /// whose watched keys changed (`WATCH` on a dedicated connection).
    public func exec(_ batch: Batch, raiseOnError: Bool = true, options: BatchOptions = BatchOptions())
        async throws(GlideError) -> BatchResults?
    {
        try await core.observed(
            batch.isAtomic ? "MULTI" : "PIPELINE", node: routing.primary.connector.address, batchSize: batch.contents.count
        ) { () throws(GlideError) in
            try await execUnobserved(batch, raiseOnError: raiseOnError, options: options)
        }
    }

    private func execUnobserved(_ batch: Batch, raiseOnError: Bool, options: BatchOptions) async throws(GlideError) -> BatchResults? {
        let contents = batch.contents
        if let refused = contents.refused { throw refused }
        guard contents.count > 0 else { return BatchResults(entries: []) }
        let deadline = core.deadline(blockingTimeout: nil, timeout: options.timeout)
        // It runs on the primary, or where reads go when every command reads.
        let flags: CommandFlags = contents.writes ? .write : contents.readsOnly ? .readonly : []
        let request = contents.request(atomic: batch.isAtomic)
        let reply = try await sendRouted(
            batch.isAtomic ? "EXEC" : "PIPELINE", flags: flags, deadline: deadline, blocking: false,
            replies: request.replies, collectsReplies: request.collects, encode: request.encode)
        guard let entries = try contents.entries(of: reply, atomic: batch.isAtomic) else { return nil }
        let results = BatchResults(entries: entries)
        if raiseOnError, let failure = results.firstFailure { throw failure }
        if let database = contents.selectedDatabase { try await databaseSelected(database) }
        return results
    }
}
