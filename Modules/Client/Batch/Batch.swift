import GlideTransport

/// Commands sent together: atomically (`MULTI` … `EXEC`, GLIDE's transaction) or as a pipeline
/// whose commands run independently. A value type: copying a batch copies its commands, and
/// adding to one copy leaves the other as it was.
///
/// Any command can be added, by its command struct (the same 384 the clients run); `add`
/// returns a typed slot that reads that command's result:
///
/// ```swift
/// var batch = Batch(isAtomic: false)
/// batch.add(SET("a", "1"))
/// let counter = batch.add(INCR("visits"))
/// let results = try await client.exec(batch)
/// let visits: Int = try results[counter]
/// ```
///
/// Each command is encoded as it is added, so executing a batch, or executing it again, copies
/// bytes and nothing else. For a cluster, use `ClusterBatch`.
public typealias Batch = CommandBatch<StandaloneBatch>

/// Commands sent together to a cluster: atomically, where every key must share one slot
/// (checked as commands are added and before anything is sent), or as a pipeline split by node,
/// each part sent to its node at once and each command following `MOVED` and `ASK` on its own.
/// `SELECT` makes `exec` throw `.configuration`.
///
/// ```swift
/// var batch = ClusterBatch(isAtomic: false)
/// for index in 0..<1_000 { batch.add(SET("key:\(index)", "value")) }
/// let results = try await cluster.exec(batch)
/// ```
public typealias ClusterBatch = CommandBatch<ClusterBatchKind>

/// What `Batch` and `ClusterBatch` are, written once: see those two for how to use them.
public struct CommandBatch<Kind: BatchKind>: Sendable {
    /// Whether the commands run as one transaction (`MULTI`/`EXEC`): all or nothing, with no
    /// other client's command between them (on a cluster, on one slot's primary). Otherwise they
    /// are pipelined, and each runs on its own.
    public let isAtomic: Bool
    var contents = BatchContents(tracksSlots: Kind.tracksSlots)

    /// An empty batch, atomic or not.
    public init(isAtomic: Bool) {
        self.isAtomic = isAtomic
    }

    /// How many commands the batch holds.
    public var count: Int { contents.count }

    /// Adds `command`; the slot returned reads its result. A command that can't run on a shared
    /// connection (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY`, `RESET`, `WATCH`, `MULTI`) makes `exec`
    /// throw `.configuration` instead of sending anything.
    @discardableResult
    public mutating func add<Command: GlideCommand>(_ command: Command) -> BatchSlot<Command> {
        let slot = BatchSlot(index: contents.count, command: command)
        contents.add(command)
        return slot
    }

    /// Adds any command given as its arguments; its result reads as a `RESPValue`.
    @discardableResult
    public mutating func customCommand(_ arguments: [String]) -> BatchSlot<CustomCommand<[String]>> {
        let slot = BatchSlot(index: contents.count, command: CustomCommand(arguments))
        contents.addCustom(arguments)
        return slot
    }

    /// This batch with `command` added: for building a batch in one expression.
    public consuming func adding<Command: GlideCommand>(_ command: Command) -> CommandBatch {
        // Consuming: the buffer stays uniquely referenced, so a chain of calls never copies it.
        var batch = self
        batch.add(command)
        return batch
    }
}

/// Which client a batch is for.
public protocol BatchKind: Sendable {
    /// Whether each command's slot is recorded (cluster batches route by it).
    static var tracksSlots: Bool { get }
}

/// A standalone client's batch (`Batch`).
public enum StandaloneBatch: BatchKind {
    /// Standalone batches don't route.
    public static var tracksSlots: Bool { false }
}

/// A cluster client's batch (`ClusterBatch`).
public enum ClusterBatchKind: BatchKind {
    /// Cluster batches route each command by its slot.
    public static var tracksSlots: Bool { true }
}

/// Where a command sits in a batch, typed by the command: it reads that command's result from
/// the batch's `BatchResults`.
public struct BatchSlot<Command: GlideCommand>: Sendable {
    /// The command's position, from 0.
    public let index: Int
    let command: Command
}
