import GlideConnection
import GlideRouter
import GlideTransport

/// What a batch or transaction holds: its commands encoded back to back, and what sending them
/// needs to know. Shared by `Batch`, `ClusterBatch` and the `Transaction` classes.
struct BatchContents: Sendable {
    var commands = RESPCommandBuffer()
    var count = 0
    /// A command that can't run on a shared connection; executing throws it.
    var refused: GlideError?
    /// The database the last `SELECT` switches to, remembered for reconnections on success.
    var selectedDatabase: Int?
    /// A custom command changes what its connection is (`CLIENT SETNAME`, `HELLO`, …): a dedicated
    /// connection that ran the batch is not lent again. (A `SELECT` shows in `selectedDatabase`.)
    var changesConnection = false
    /// Whether a command writes (a read-only client refuses the batch).
    var writes = false
    /// Whether every command is a read (it may run where reads go).
    var readsOnly = true
    /// Cluster batches: each command's routing is recorded as it is added.
    let tracksSlots: Bool
    /// The slot of the keys so far, and the command that set it (an atomic cluster batch runs there).
    var slot: (slot: UInt16, command: String)?
    /// The first command whose keys are in another slot (refused in an atomic cluster batch).
    var crossSlot: String?
    /// The first command that names its own node (refused in a non-atomic cluster batch).
    var unsplittable: String?
    /// Per command, for a cluster batch split by node: where its bytes end, and where it goes.
    var ends: [RESPCommandBuffer.Mark] = []
    var targets: [BatchTarget] = []

    init(tracksSlots: Bool) {
        self.tracksSlots = tracksSlots
    }

    /// Adds `command`, or records why the batch can't run.
    mutating func add<Command: GlideCommand>(_ command: Command) {
        add(command) {
            let keySlots = Router.keySlots(of: command)
            return (Command.name, Router.decide(name: Command.name, routing: Command.routing, keySlots: keySlots), keySlots)
        }
    }

    /// Adds `command`, routed (in a cluster batch) as `routing` says: its name, where it goes,
    /// and the slots of its keys.
    private mutating func add<Command: GlideCommand>(
        _ command: Command, routing: () -> (name: String, decision: RoutingDecision, keySlots: KeySlots)
    ) {
        if let refusal = Command.multiplexingRefusal {
            refuse(GlideError(.configuration, refusal))
            return
        }
        if let database = command.selectedDatabase {
            // In a cluster SELECT would switch one node's shared connection.
            guard !tracksSlots else {
                refuse(GlideClusterClient.selectRefusal)
                return
            }
            selectedDatabase = database
        }
        if tracksSlots { track(routing()) }
        if Command.routing.flags.contains(.write) { writes = true }
        if !Command.routing.isReadOnly { readsOnly = false }
        command.encode(into: &commands)
        count += 1
        if tracksSlots { ends.append(commands.mark) }
    }

    /// Adds a command given as its arguments, or records why the batch can't run.
    mutating func addCustom(_ arguments: [String]) {
        let head = arguments.prefix(2).map { Bytes($0) }
        if let refusal = head.isEmpty ? "a command needs a name" : CommandTable.multiplexingRefusal(for: head) {
            refuse(GlideError(.configuration, refusal))
            return
        }
        if let database = ClientChecks.selectedDatabase(head) {
            guard !tracksSlots else {
                refuse(GlideClusterClient.selectRefusal)
                return
            }
            selectedDatabase = database
        }
        if let name = CommandTable.metadata(for: head)?.name, DedicatedSession.effect(of: name) == .taints { changesConnection = true }
        add(CustomCommand(arguments)) {
            // Routed by its own name and the table's policies, as the client's `customCommand` is.
            let bytes = arguments.map { Bytes($0) }
            let metadata = CommandTable.metadata(for: bytes)
            let name = metadata?.name ?? bytes[0].string.uppercased()
            let keySlots = Router.keySlots(of: bytes, metadata: metadata)
            return (name, Router.decide(name: name, routing: metadata.map(CommandRouting.init) ?? .unknown, keySlots: keySlots), keySlots)
        }
    }

    private mutating func refuse(_ error: GlideError) {
        if refused == nil { refused = error }
    }

    /// Records where a command goes, and the first command that breaks the one-slot rule of an
    /// atomic cluster batch or can't go in a non-atomic one.
    private mutating func track(_ routing: (name: String, decision: RoutingDecision, keySlots: KeySlots)) {
        let (name, decision, keySlots) = routing
        switch decision.target {
        case .slot(let slot, _):
            targets.append(.slot(slot))
        case .randomNode:
            targets.append(.anyPrimary)
        case .allNodes, .allPrimaries, .splitBySlot:
            // Sent to each node it needs, its replies combined (`ClusterBatchPlan`).
            targets.append(.several(name: name, decision, firstSlot: keySlots.firstSlot))
        case .address:
            targets.append(.anyPrimary)
            if unsplittable == nil { unsplittable = "\(name) names its node; send it on its own, not in a cluster batch" }
        }
        if case .several = keySlots, crossSlot == nil {
            crossSlot =
                "the keys of an atomic cluster batch must share one hash slot: \(name) has keys in several slots "
                + "(a hash tag such as {user:1} keeps keys together)"
        }
        guard let first = keySlots.firstSlot else { return }
        if let owner = slot {
            if owner.slot != first && crossSlot == nil {
                crossSlot =
                    "the keys of an atomic cluster batch must share one hash slot: \(owner.command) has a key "
                    + "in slot \(owner.slot), \(name) one in slot \(first) (a hash tag such as {user:1} keeps keys together)"
            }
        } else {
            slot = (first, name)
        }
    }

    /// Where command `index`'s bytes start (cluster batches).
    func start(of index: Int) -> RESPCommandBuffer.Mark {
        index == 0 ? RESPCommandBuffer().mark : ends[index - 1]
    }

    /// The bytes of command `index` (cluster batches).
    func command(at index: Int) -> RESPCommandBuffer {
        var buffer = RESPCommandBuffer()
        buffer.append(commands, from: start(of: index), to: ends[index])
        return buffer
    }
}

extension BatchContents {
    /// The one request a batch is on one connection: `MULTI` … `EXEC` (its `OK`, `QUEUED`s and
    /// `EXEC` reply), or a pipeline whose every reply is kept.
    func request(atomic: Bool) -> (replies: Int, collects: Bool, encode: @Sendable (inout RESPCommandBuffer) -> Void) {
        let commands = commands
        if atomic { return (count + 2, false, { $0.appendTransaction(commands) }) }
        return (count, true, { $0.append(commands) })
    }

    /// The results of `request(atomic:)`'s reply; `nil` when a watched key changed.
    func entries(of reply: ConnectionReply, atomic: Bool) throws(GlideError) -> [BatchResults.Entry]? {
        if atomic { return try Transaction.results(of: reply, raiseOnError: false, address: nil) }
        return BatchResults.entries(of: reply)
    }
}

/// Where a command of a non-atomic cluster batch goes: its first key's slot, any primary for a
/// command without keys, or several nodes.
enum BatchTarget: Hashable, Sendable {
    case slot(UInt16)
    case anyPrimary
    /// Every node or every primary, or the slots of its keys (split), as `decision` says, its
    /// replies combined; `firstSlot` is its first key's, where a shape that can't be split goes.
    case several(name: String, RoutingDecision, firstSlot: UInt16?)
}

extension RESPCommandBuffer {
    /// `MULTI`, `commands`, `EXEC`.
    mutating func appendTransaction(_ commands: RESPCommandBuffer) {
        writeRESPCommand("MULTI" as StaticString)
        append(commands)
        writeRESPCommand("EXEC" as StaticString)
    }
}
