import GlideConnection
import GlideTransport
import Synchronization

/// Commands that run together and atomically: `MULTI`, the commands, `EXEC`.
///
/// Each command is encoded when it is added, so executing a transaction, or executing it again
/// (transactions are reusable), copies bytes and nothing else. Methods return the transaction, so
/// calls chain:
///
/// ```swift
/// let results = try await client.exec(Transaction().set("a", "1").incr("counter").get("a"))
/// ```
///
/// For a cluster, use `ClusterTransaction`, which also checks that every key is in one slot.
public typealias Transaction = CommandTransaction<StandaloneBatch>

/// What `Transaction` and `ClusterTransaction` are, written once: see those two for how to use
/// them. A reference type, unlike `CommandBatch`: a transaction is built by chaining calls.
public final class CommandTransaction<Kind: BatchKind>: Sendable {
    let contents: Lock<BatchContents>

    /// An empty transaction.
    public init() { contents = Lock(BatchContents(tracksSlots: Kind.tracksSlots)) }

    /// The number of commands queued.
    public var count: Int { contents.withLock { $0.count } }

    /// Adds any command. One that can't run on a shared connection (`SUBSCRIBE`, `MONITOR`,
    /// `CLIENT REPLY`, `RESET`) makes `exec` throw `.configuration` instead of sending anything.
    @discardableResult
    public func add<Command: GlideCommand>(_ command: Command) -> Self {
        contents.withLock { $0.add(command) }
        return self
    }

    /// Adds any command given as its arguments. An empty command, or one that can't run on a
    /// shared connection (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY`, `RESET`), makes `exec` throw
    /// `.configuration` instead of sending anything.
    @discardableResult
    public func customCommand(_ arguments: [String]) -> Self {
        contents.withLock { $0.addCustom(arguments) }
        return self
    }

    /// What `exec` sends and needs to know.
    func snapshot() -> BatchContents {
        contents.withLock { $0 }
    }
}

extension CommandTransaction {
    /// Queues `GET key`.
    @discardableResult
    public func get(_ key: some BulkStringConvertible) -> Self { add(GET(key)) }

    /// Queues `SET key value` with its options.
    @discardableResult
    public func set(
        _ key: some BulkStringConvertible, _ value: some BulkStringConvertible,
        condition: SET.Condition? = nil, expiry: SET.Expiration? = nil
    ) -> Self {
        add(SET(key, value, condition: condition, expiration: expiry))
    }

    /// Queues `DEL keys...`.
    @discardableResult
    public func del<Keys: Sequence>(_ keys: Keys) -> Self where Keys.Element: BulkStringConvertible { add(DEL(keys)) }

    /// Queues `EXISTS keys...`.
    @discardableResult
    public func exists<Keys: Sequence>(_ keys: Keys) -> Self where Keys.Element: BulkStringConvertible { add(EXISTS(keys)) }

    /// Queues `INCR key`.
    @discardableResult
    public func incr(_ key: some BulkStringConvertible) -> Self { add(INCR(key)) }

    /// Queues `INCRBY key amount`.
    @discardableResult
    public func incrBy(_ key: some BulkStringConvertible, _ amount: Int) -> Self { add(INCRBY(key, increment: amount)) }

    /// Queues `MGET keys...`.
    @discardableResult
    public func mget<Keys: Sequence>(_ keys: Keys) -> Self where Keys.Element: BulkStringConvertible { add(MGET(keys)) }

    /// Queues `MSET` of every pair, in order.
    @discardableResult
    public func mset<Key: BulkStringConvertible, Value: BulkStringConvertible>(_ pairs: [(key: Key, value: Value)]) -> Self {
        add(MSET(data: pairs.map { MSET.Data(key: $0.key, value: $0.value) }))
    }

    /// Queues `PING`.
    @discardableResult
    public func ping(_ message: BulkString? = nil) -> Self { add(PING(message: message)) }

    /// Queues `INFO sections...`.
    @discardableResult
    public func info(_ sections: [InfoSection] = []) -> Self { add(INFO(sections: sections)) }
}

extension CommandTransaction where Kind == StandaloneBatch {
    /// Queues `SELECT index`; it switches the connection's database for every later command, and
    /// reconnections select it too once the transaction has run. Standalone only: a cluster
    /// transaction refuses `SELECT`.
    @discardableResult
    public func select(_ index: Int) -> Self {
        add(SELECT(index: index))
    }
}

extension GlideClient {
    /// Runs `transaction` atomically and returns one reply per command, in order: `Batch` with
    /// `isAtomic: true`, in its older spelling.
    ///
    /// Returns `nil` when a key watched with `watch` changed before `EXEC`. A command the server
    /// refused to queue aborts the whole transaction with that command's error. When a command
    /// fails while running, `raiseOnError` throws its error; otherwise the error is in the results.
    public func exec(_ transaction: Transaction, raiseOnError: Bool = true, timeout: Duration? = nil) async throws(GlideError)
        -> [RESPValue]?
    {
        var batch = Batch(isAtomic: true)
        batch.contents = transaction.snapshot()
        return try await exec(batch, raiseOnError: raiseOnError, options: BatchOptions(timeout: timeout))?.values
    }
}

extension Transaction {
    /// The results of `MULTI ... EXEC`: `nil` when a watched key changed, the results otherwise;
    /// a refused transaction throws the error of the command the server refused to queue.
    static func results(of reply: ConnectionReply, raiseOnError: Bool, address: String?) throws(GlideError) -> [BatchResults.Entry]? {
        let token = reply.token
        if token.type.isError, let queued = reply.queuedError {
            // EXECABORT says only that something failed; the queued error says what.
            let first = GlideError.server(queued, address: address)
            throw GlideError(first.code, "transaction aborted: \(first.message)", serverCode: first.serverCode, address: address)
        }
        if token.type.isError { throw GlideError.server(token, address: address) }
        if token.isNull { return nil }
        guard let elements = token.elements else {
            throw GlideError(.protocolError, "EXEC replied with a RESP \(token.type)", address: address)
        }
        var results: [BatchResults.Entry] = []
        results.reserveCapacity(elements.count)
        for element in elements {
            if raiseOnError && element.type.isError { throw GlideError.server(element, address: address) }
            results.append(.reply(element))
        }
        return results
    }
}
