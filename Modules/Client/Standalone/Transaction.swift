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
public class Transaction: @unchecked Sendable {
    // @unchecked: the only stored state is the lock; subclasses add none.
    struct Contents {
        var commands = RESPCommandBuffer()
        var count = 0
        /// A command that can't run on a shared connection; `exec` throws it.
        var refused: GlideError?
        /// The database the last `SELECT` switches to, remembered for reconnections on success.
        var selectedDatabase: Int?
        /// Whether a command writes (a read-only client refuses the transaction).
        var writes = false
        /// Whether every command is a read (it may run where reads go).
        var readsOnly = true
        /// The slot of the keys so far, and the command that set it (cluster transactions).
        var slot: (slot: UInt16, command: String)?
        /// The first command whose keys are in another slot (cluster transactions).
        var crossSlot: String?
    }

    let contents = Lock(Contents())
    let tracksSlots: Bool

    /// An empty transaction.
    public init() { tracksSlots = false }

    init(tracksSlots: Bool) { self.tracksSlots = tracksSlots }

    /// The number of commands queued.
    public var count: Int { contents.withLock { $0.count } }

    /// Adds any command. One that can't run on a shared connection (`SUBSCRIBE`, `MONITOR`,
    /// `CLIENT REPLY`, `RESET`) makes `exec` throw `.configuration` instead of sending anything.
    @discardableResult
    public func add<Command: GlideCommand>(_ command: Command) -> Self {
        contents.withLock {
            if let refusal = Command.multiplexingRefusal {
                if $0.refused == nil { $0.refused = GlideError(.configuration, refusal) }
                return
            }
            if let database = command.selectedDatabase {
                if tracksSlots {
                    // In a cluster SELECT would switch one node's shared connection.
                    if $0.refused == nil { $0.refused = GlideClusterClient.selectRefusal }
                    return
                }
                $0.selectedDatabase = database
            }
            if tracksSlots { Self.track(command, in: &$0) }
            if Command.routing.flags.contains(.write) { $0.writes = true }
            if !Command.routing.isReadOnly { $0.readsOnly = false }
            command.encode(into: &$0.commands)
            $0.count += 1
        }
        return self
    }

    /// Records the slots of `command`'s keys, and the first command that breaks the one-slot rule.
    static func track<Command: GlideCommand>(_ command: Command, in contents: inout Contents) {
        guard contents.crossSlot == nil else { return }
        let name = Command.name == CustomCommand<[String]>.name ? "a custom command" : Command.name
        var conflict: (UInt16, UInt16)?
        command.forEachKey { key in
            let slot = key.withUnsafeBytes { HashSlot.slot(of: $0) }
            if let existing = contents.slot {
                if existing.slot != slot && conflict == nil { conflict = (existing.slot, slot) }
            } else {
                contents.slot = (slot, name)
            }
        }
        if let (first, other) = conflict, let owner = contents.slot {
            contents.crossSlot = "the keys of a cluster transaction must share one hash slot: \(owner.command) has a key "
                + "in slot \(first), \(name) one in slot \(other) (a hash tag such as {user:1} keeps keys together)"
        }
    }

    /// Adds any command given as its arguments. An empty command, or one that can't run on a
    /// shared connection (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY`, `RESET`), makes `exec` throw
    /// `.configuration` instead of sending anything.
    @discardableResult
    public func customCommand(_ arguments: [String]) -> Self {
        let head = arguments.prefix(2).map { Bytes($0) }
        let refusal = head.isEmpty ? "a command needs a name" : CommandTable.multiplexingRefusal(for: head)
        if let refusal {
            contents.withLock { if $0.refused == nil { $0.refused = GlideError(.configuration, refusal) } }
            return self
        }
        if let database = ClientChecks.selectedDatabase(head) {
            contents.withLock {
                if tracksSlots {
                    if $0.refused == nil { $0.refused = GlideClusterClient.selectRefusal }
                } else {
                    $0.selectedDatabase = database
                }
            }
            if tracksSlots { return self }
        }
        return add(CustomCommand(arguments))
    }

    /// What `exec` sends and needs to know.
    func snapshot() -> Contents {
        contents.withLock { $0 }
    }
}

extension Transaction {
    /// Queues `GET key`.
    @discardableResult
    public func get(_ key: some BulkStringConvertible) -> Self { add(GET(key)) }

    /// Queues `SET key value` with its options.
    @discardableResult
    public func set(_ key: some BulkStringConvertible, _ value: some BulkStringConvertible,
                    condition: SET.Condition? = nil, expiry: SET.Expiration? = nil) -> Self
    {
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

    /// Queues `SELECT index`; it switches the connection's database for every later command, and
    /// reconnections select it too once the transaction has run.
    @discardableResult
    public func select(_ index: Int) -> Self {
        add(SELECT(index: index))
    }
}

extension GlideClient {
    /// Runs `transaction` atomically and returns one reply per command, in order.
    ///
    /// Returns `nil` when a key watched with `watch` changed before `EXEC`. A command the server
    /// refused to queue aborts the whole transaction with that command's error. When a command
    /// fails while running, `raiseOnError` throws its error; otherwise the error is in the results.
    public func exec(_ transaction: Transaction, raiseOnError: Bool = true) async throws(GlideError) -> [RESPValue]? {
        let contents = transaction.snapshot()
        if let refused = contents.refused { throw refused }
        let commands = contents.commands
        // It runs on the primary, or where reads go when every command reads.
        let flags: CommandFlags = contents.writes ? .write : contents.readsOnly ? .readonly : []
        let reply = try await sendRouted("EXEC", flags: flags, deadline: core.deadline(blockingTimeout: nil), blocking: false,
                                         replies: contents.count + 2) { buffer in
            buffer.writeRESPCommand("MULTI" as StaticString)
            buffer.append(commands)
            buffer.writeRESPCommand("EXEC" as StaticString)
        }
        let results = try Transaction.results(of: reply, raiseOnError: raiseOnError, address: nil)
        if results != nil, let database = contents.selectedDatabase { try await selectEverywhere(database) }
        return results
    }
}

extension Transaction {
    /// The results of `MULTI ... EXEC`: `nil` when a watched key changed, the results otherwise;
    /// a refused transaction throws the error of the command the server refused to queue.
    static func results(of reply: ConnectionReply, raiseOnError: Bool, address: String?) throws(GlideError) -> [RESPValue]? {
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
        var results: [RESPValue] = []
        results.reserveCapacity(elements.count)
        for element in elements {
            if raiseOnError && element.type.isError { throw GlideError.server(element, address: address) }
            results.append(RESPValue(element))
        }
        return results
    }
}
