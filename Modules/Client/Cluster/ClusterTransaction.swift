import GlideConnection
import GlideRouter
import GlideTransport

/// A transaction for a cluster: like `Transaction`, and every key of every command must hash to
/// one slot, which is checked as commands are added and before anything is sent. It runs on
/// that slot's primary.
///
/// ```swift
/// let results = try await cluster.exec(ClusterTransaction().set("{user:1}:name", "Ada").incr("{user:1}:visits"))
/// ```
public typealias ClusterTransaction = CommandTransaction<ClusterBatchKind>

extension GlideClusterClient {
    /// Runs `transaction` atomically on the primary of its keys' slot (a random primary when it
    /// names no key, or where `route` says) and returns one reply per command, in order:
    /// `ClusterBatch` with `isAtomic: true`, in its older spelling.
    ///
    /// Keys in different slots throw `.routing`, naming the slots, before anything is sent.
    /// Returns `nil` when a watched key changed. A command the server refused to queue aborts the
    /// transaction with that command's error; when a command fails while running,
    /// `raiseOnError` throws its error, otherwise the error is in the results. A transaction
    /// that meets `MOVED` or `ASK` never ran, and is sent again where the redirection says.
    public func exec(_ transaction: ClusterTransaction, route: Route? = nil, raiseOnError: Bool = true, timeout: Duration? = nil)
        async throws(GlideError) -> [RESPValue]?
    {
        var batch = ClusterBatch(isAtomic: true)
        batch.contents = transaction.snapshot()
        return try await exec(batch, raiseOnError: raiseOnError, options: ClusterBatchOptions(timeout: timeout, route: route))?.values
    }

    /// Runs `batch` and returns one result per command, in the order they were added.
    ///
    /// An atomic batch runs as `MULTI` … `EXEC` on the primary of its keys' one slot (checked
    /// before anything is sent; a random primary when it names no key, or where `options.route`
    /// says); `MOVED` or `ASK` sends it again whole. A non-atomic batch is split by node: each
    /// node's commands go to it at once as one pipeline, every node in parallel, and a command
    /// answered `MOVED` or `ASK` follows it on its own. `options.retryStrategy` says whether
    /// transient errors and lost connections send commands again.
    ///
    /// With `raiseOnError`, the first failed command's error throws; otherwise each failure is
    /// in the results, where reading its slot throws it. Returns `nil` only for an atomic batch
    /// whose watched keys changed.
    public func exec(_ batch: ClusterBatch, raiseOnError: Bool = true, options: ClusterBatchOptions = ClusterBatchOptions())
        async throws(GlideError) -> BatchResults?
    {
        try await engine.core.observed(batch.isAtomic ? "MULTI" : "PIPELINE", node: nil, batchSize: batch.contents.count) {
            () throws(GlideError) in try await execUnobserved(batch, raiseOnError: raiseOnError, options: options)
        }
    }

    private func execUnobserved(_ batch: ClusterBatch, raiseOnError: Bool, options: ClusterBatchOptions) async throws(GlideError)
        -> BatchResults?
    {
        let contents = batch.contents
        if let refused = contents.refused { throw refused }
        guard contents.count > 0 else { return BatchResults(entries: []) }
        let deadline = engine.deadline(blockingTimeout: nil, timeout: options.timeout)
        let entries: [BatchResults.Entry]
        if batch.isAtomic {
            guard let results = try await engine.execAtomic(contents, route: options.route, deadline: deadline) else { return nil }
            entries = results
        } else {
            entries = try await engine.execPipeline(contents, options: options, deadline: deadline)
        }
        let results = BatchResults(entries: entries)
        if raiseOnError, let failure = results.firstFailure { throw failure }
        return results
    }
}
