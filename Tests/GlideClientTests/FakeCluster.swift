import Foundation
import GlideTopology
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// A cluster of scripted nodes behind memory pipes: each node answers the handshake, `CLUSTER
/// SHARDS` from its own view, and `GET`/`SET` by the slot map, with `MOVED` for slots it doesn't
/// serve and `ASK` for a slot it is migrating. A test changes the map, the views and the nodes'
/// health between requests, and scripts any reply with `script`.
final class FakeCluster: Sendable {
    /// One shard: its slots, its primary and its replicas.
    struct Shard {
        var slots: [ClosedRange<UInt16>]
        var primary: NodeAddress
        var replicas: [NodeAddress] = []
    }

    /// What a scripted node does with a command instead of the default.
    enum Action {
        /// Sends this wire reply.
        case reply(String)
        /// Closes the connection without answering (a node lost mid-request).
        case closeConnection
    }

    /// One client connection, as its node sees it.
    struct Link {
        let node: NodeAddress
        let stream: MemoryByteStream
        let id: Int
        var buffer = Bytes()
        var decoder = RESPDecoder()
        var asking = false
    }

    struct State {
        var shards: [Shard]
        /// Nodes whose `CLUSTER SHARDS` tells another story than `shards` (a split view).
        var views: [NodeAddress: [Shard]] = [:]
        /// Slots being migrated, with the node importing them: their owner answers `ASK`.
        var migrating: [UInt16: NodeAddress] = [:]
        var data: [String: String] = [:]
        /// Nodes that refuse connections.
        var down: Set<NodeAddress> = []
        var links: [Link] = []
        var nextID = 1
        /// Every command each node received, the handshake's included, in order.
        var received: [(node: NodeAddress, command: [String])] = []
        /// Consulted first for every command; `nil` falls through to the default.
        var script: (@Sendable (NodeAddress, [String]) -> Action?)?
    }

    let state: Lock<State>

    init(shards: [Shard]) {
        state = Lock(State(shards: shards))
    }

    /// Three shards of a primary and a replica each: ports 7000–7002 are the primaries of slots
    /// 0–5460, 5461–10922 and 10923–16383; 7003–7005 their replicas.
    static func threeShards() -> FakeCluster {
        FakeCluster(shards: [
            Shard(slots: [0...5460], primary: node(7000), replicas: [node(7003)]),
            Shard(slots: [5461...10922], primary: node(7001), replicas: [node(7004)]),
            Shard(slots: [10923...16383], primary: node(7002), replicas: [node(7005)]),
        ])
    }

    static func node(_ port: Int) -> NodeAddress { NodeAddress(host: "fake", port: port) }

    /// A key whose slot the shard of `primary` serves, distinct for each `index`.
    func key(servedBy primary: NodeAddress, index: Int = 0) -> String {
        let slots = state.withLock { $0.shards.first { $0.primary == primary }!.slots }
        var found = 0
        for candidate in 0... {
            let key = "key:\(candidate)"
            guard slots.contains(where: { $0.contains(HashSlot.of(key)) }) else { continue }
            if found == index { return key }
            found += 1
        }
        fatalError("unreachable")
    }

    /// The commands `node` received whose name is `name`.
    func received(_ name: String, by node: NodeAddress) -> [[String]] {
        state.withLock { state in state.received.filter { $0.node == node && $0.command.first == name }.map(\.command) }
    }

    /// Every command named `name` any node received.
    func receivedCount(_ name: String) -> Int {
        state.withLock { state in state.received.filter { $0.command.first == name }.count }
    }

    // MARK: Faults

    /// Closes every connection to `node` and refuses new ones.
    func kill(_ node: NodeAddress) {
        let closing = state.withLock { state -> [MemoryByteStream] in
            state.down.insert(node)
            let closing = state.links.filter { $0.node == node }.map(\.stream)
            state.links.removeAll { $0.node == node }
            return closing
        }
        for stream in closing { stream.close() }
    }

    /// Promotes the replica `replica` of `primary`'s shard; the old primary becomes its replica.
    func failOver(_ primary: NodeAddress, to replica: NodeAddress) {
        state.withLock { state in
            guard let index = state.shards.firstIndex(where: { $0.primary == primary }) else { return }
            state.shards[index].primary = replica
            state.shards[index].replicas = state.shards[index].replicas.filter { $0 != replica } + [primary]
        }
    }

    /// Starts migrating `slot` to the shard of `target`: its owner answers `ASK` from now on.
    func migrate(_ slot: UInt16, to target: NodeAddress) {
        state.withLock { $0.migrating[slot] = target }
    }

    /// Ends the migration of `slot`: the shard of `target` owns it, and its old owner answers `MOVED`.
    func moveSlot(_ slot: UInt16, to target: NodeAddress) {
        state.withLock { state in
            state.migrating[slot] = nil
            for index in state.shards.indices {
                state.shards[index].slots = state.shards[index].slots.flatMap { range -> [ClosedRange<UInt16>] in
                    guard range.contains(slot) else { return [range] }
                    return (slot > range.lowerBound ? [range.lowerBound...(slot - 1)] : [])
                        + (slot < range.upperBound ? [(slot + 1)...range.upperBound] : [])
                }
            }
            if let index = state.shards.firstIndex(where: { $0.primary == target }) { state.shards[index].slots.append(slot...slot) }
        }
    }

    /// Hands every slot of `source`'s shard to `target`'s shard; `source` leaves the cluster's map.
    func moveAllSlots(of source: NodeAddress, to target: NodeAddress) {
        state.withLock { state in
            guard let from = state.shards.firstIndex(where: { $0.primary == source }) else { return }
            let moving = state.shards.remove(at: from).slots
            if let to = state.shards.firstIndex(where: { $0.primary == target }) { state.shards[to].slots += moving }
        }
    }

    // MARK: The nodes' side

    /// Opens a pipe to `node`; refused while the node is down.
    func open(_ node: NodeAddress) throws(TransportError) -> MemoryByteStream {
        let (client, server) = MemoryByteStream.makePair()
        let refused = state.withLock { state -> Bool in
            guard !state.down.contains(node) else { return true }
            state.links.append(Link(node: node, stream: server, id: state.nextID))
            state.nextID += 1
            return false
        }
        if refused { throw TransportError(.connectFailed, errno: .connectionRefused, detail: "\(node) is down") }
        return client
    }

    /// Answers every complete command waiting on every connection; whether there was any.
    func serve() -> Bool {
        var served = false
        let count = state.withLock { $0.links.count }
        for index in (0..<count).reversed() {
            let incoming = state.withLock { state -> (MemoryByteStream, Bytes, Bool)? in
                guard index < state.links.count else { return nil }
                let stream = state.links[index].stream
                return (stream, stream.receiveAll(), stream.peerClosed)
            }
            guard let (stream, bytes, peerClosed) = incoming else { continue }
            let commands = state.withLock { state -> [[String]] in
                var link = state.links[index]
                link.buffer.writeBytes(bytes)
                var commands: [[String]] = []
                while let token = try! link.decoder.decode(from: &link.buffer) {
                    commands.append(token.elements!.map { $0.stringBytes!.string })
                }
                state.links[index] = link
                return commands
            }
            commandLoop: for command in commands {
                served = true
                switch answer(command, onLink: index) {
                case .reply(let wire):
                    try? stream.send(wire)
                case .closeConnection:
                    stream.close()
                    state.withLock { state in state.links.removeAll { $0.stream === stream } }
                    break commandLoop
                }
            }
            if peerClosed && commands.isEmpty {
                stream.close()
                state.withLock { state in state.links.removeAll { $0.stream === stream } }
            }
        }
        return served
    }

    private func answer(_ command: [String], onLink index: Int) -> Action {
        let (node, script) = state.withLock { state in
            state.received.append((state.links[index].node, command))
            return (state.links[index].node, state.script)
        }
        if let scripted = script?(node, command) { return scripted }
        return state.withLock { state in
            var link = state.links[index]
            defer { state.links[index] = link }
            return Self.defaultAnswer(command, link: &link, state: &state)
        }
    }

    private static func defaultAnswer(_ command: [String], link: inout Link, state: inout State) -> Action {
        let asking = link.asking
        link.asking = false
        switch command[0].uppercased() {
        case "HELLO":
            return .reply("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:\(link.id)\r\n")
        case "CLIENT", "READONLY":
            return .reply("+OK\r\n")
        case "ASKING":
            link.asking = true
            return .reply("+OK\r\n")
        case "PING":
            return .reply("+PONG\r\n")
        case "CLUSTER" where command.count > 1 && command[1].uppercased() == "SHARDS":
            return .reply(shardsReply(state.views[link.node] ?? state.shards).encoded().string)
        case "GET", "SET", "MGET":
            guard command.count >= 2 else { return .reply("-ERR wrong number of arguments\r\n") }
            let key = command[1]
            let slot = HashSlot.of(key)
            guard let shard = state.shards.first(where: { $0.slots.contains { $0.contains(slot) } }) else {
                return .reply("-CLUSTERDOWN Hash slot not served\r\n")
            }
            if let importing = state.migrating[slot] {
                if link.node == shard.primary { return .reply("-ASK \(slot) \(importing)\r\n") }
                if link.node != importing || !asking { return .reply("-MOVED \(slot) \(shard.primary)\r\n") }
            } else if link.node != shard.primary {
                return .reply("-MOVED \(slot) \(shard.primary)\r\n")
            }
            if command[0].uppercased() == "MGET" {
                // One slot per request, as the client splits it.
                guard command.dropFirst().allSatisfy({ HashSlot.of($0) == slot }) else {
                    return .reply("-CROSSSLOT Keys in request don't hash to the same slot\r\n")
                }
                let values = command.dropFirst().map { key in state.data[key].map { "$\($0.utf8.count)\r\n\($0)\r\n" } ?? "_\r\n" }
                return .reply("*\(values.count)\r\n" + values.joined())
            }
            if command[0].uppercased() == "SET", command.count >= 3 {
                state.data[key] = command[2]
                return .reply("+OK\r\n")
            }
            guard let value = state.data[key] else { return .reply("_\r\n") }
            return .reply("$\(value.utf8.count)\r\n\(value)\r\n")
        default:
            return .reply("-ERR unknown command '\(command[0])'\r\n")
        }
    }

    /// `shards` as a `CLUSTER SHARDS` reply.
    static func shardsReply(_ shards: [Shard]) -> RESPValue {
        func text(_ string: String) -> RESPValue { .bulkString(Bytes(string)) }
        func node(_ address: NodeAddress, primary: Bool) -> RESPValue {
            .map([
                RESPPair(key: text("id"), value: text("node-\(address.port)")),
                RESPPair(key: text("port"), value: .integer(address.port)),
                RESPPair(key: text("ip"), value: text(address.host)),
                RESPPair(key: text("endpoint"), value: text(address.host)),
                RESPPair(key: text("role"), value: text(primary ? "master" : "replica")),
                RESPPair(key: text("replication-offset"), value: .integer(0)),
                RESPPair(key: text("health"), value: text("online")),
            ])
        }
        return .array(
            shards.map { shard in
                .map([
                    RESPPair(
                        key: text("slots"),
                        value: .array(shard.slots.flatMap { [.integer(Int($0.lowerBound)), .integer(Int($0.upperBound))] })),
                    RESPPair(
                        key: text("nodes"),
                        value: .array(
                            [node(shard.primary, primary: true)]
                                + shard.replicas.map { node($0, primary: false) })),
                ])
            })
    }
}

/// Reaches a fake node over a memory pipe.
struct FakeConnector: NodeConnector {
    let address: NodeAddress
    let cluster: FakeCluster

    var addressDescription: String { address.description }

    func connect(deadline: Deadline) async throws(TransportError) -> MemoryByteStream {
        try cluster.open(address)
    }
}

/// The real cluster engine on a manual loop, against a fake cluster: the test is the loop's
/// thread, and time moves only when nothing else can happen.
struct FakeClusterHarness: Sendable {
    typealias Engine = ClusterEngine<ManualEventLoop, FakeConnector>

    let loop = ManualEventLoop()
    /// A second loop the engine's node connections spread over (`spread`), on the same clock.
    let other: ManualEventLoop?
    let cluster: FakeCluster
    let engine: Engine

    /// An engine for `cluster`, seeded with `seeds`, with no periodic checks (each test decides
    /// when anything happens) unless `configure` turns them on; with `spread`, its node
    /// connections take `loop` and `other` in turn, as `eventLoopCount = 2` does.
    init(
        _ cluster: FakeCluster = .threeShards(), seeds: [NodeAddress] = [FakeCluster.node(7000)], spread: Bool = false,
        configure: (inout GlideClusterClientConfiguration) -> Void = { _ in }
    ) {
        self.cluster = cluster
        let other = spread ? ManualEventLoop() : nil
        self.other = other
        var configuration = GlideClusterClientConfiguration(addresses: seeds)
        configuration.requestTimeout = .seconds(5)
        configuration.reconnectStrategy = BackoffStrategy(jitterPercent: 0)
        configuration.heartbeatInterval = nil
        configuration.topologyRefresh = TopologyRefreshPolicy(periodicInterval: nil, minimumInterval: .milliseconds(100))
        configure(&configuration)
        engine = Engine(configuration: configuration, loop: loop, extraLoops: other.map { [$0] } ?? []) { address, _ in
            FakeConnector(address: address, cluster: cluster)
        }
    }

    /// Runs `body` as a task on the loop, and drives the loop and the fake nodes until it ends.
    /// While anything can happen without time passing (work on the loop, a command to answer)
    /// it happens first; only then does the clock jump to the next timer.
    ///
    /// The driving never suspends, so it runs on a thread of its own: on Swift's pool it would hold
    /// one of its few threads for as long as it runs, and stall the tests running beside it.
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = DrivenOutcome<T>()
        Task(executorPreference: loop) {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.result.withLock { $0 = result }
        }
        let harness = self
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Bool?, Never>) in
            Thread.detachNewThread { continuation.resume(returning: harness.drive(until: outcome)) }
        }
        switch ended {
        case true?:
            return try outcome.result.withLock { $0 }!.get()
        case false?:
            Issue.record("the task waits for something that will never happen: no work, no command, no timer")
        case nil:
            Issue.record("the task never ended")
        }
        throw FakeClusterStuck()
    }

    /// Drives the loops and the fake nodes until `outcome` is set (`true`), nothing can happen any
    /// more (`false`), or 100,000 steps passed (`nil`).
    private func drive<T>(until outcome: DrivenOutcome<T>) -> Bool? {
        for _ in 0..<100_000 {
            settle()
            if outcome.result.withLock({ $0 != nil }) { return true }
            guard let next = nextTimerDeadline else { return false }
            advance(to: next)
        }
        return nil
    }

    /// Does everything that can happen without time passing: loop work, and commands to answer.
    func settle() {
        repeat {
            loop.run()
            other?.run()
        } while cluster.serve() || loop.hasPendingTasks || other?.hasPendingTasks == true
    }

    /// The earliest timer of either loop.
    var nextTimerDeadline: Deadline? {
        [loop.nextTimerDeadline, other?.nextTimerDeadline].compactMap { $0 }.min()
    }

    /// Moves both loops' clocks to `deadline`, firing what came due.
    func advance(to deadline: Deadline) {
        loop.advance(to: deadline)
        other?.advance(to: deadline)
    }

    /// Lets everything scheduled happen: the clock jumps from timer to timer (a rate-limited
    /// refresh, a reconnection's backoff) until none is left.
    func runTimers() {
        settle()
        for _ in 0..<1000 {
            guard let next = nextTimerDeadline else { return }
            advance(to: next)
            settle()
        }
        Issue.record("timers kept coming")
    }

    /// Starts the engine: discovery from the seeds.
    func start() async throws {
        let engine = self.engine
        try await run { try await engine.start() }
    }

    /// `GET key`, through the engine's whole request path.
    func get(_ key: String) async throws -> String? {
        let engine = self.engine
        return try await run { try await engine.customCommand([Bytes("GET"), Bytes(key)], route: nil) }.singleValue?.stringValue
    }

    /// `GET` of every key at once, each in a task of its own, through the engine's whole request
    /// path; the values in the order they came back.
    func getConcurrently(_ keys: [String]) async throws -> [String?] {
        let engine = self.engine
        return try await run {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for key in keys {
                    group.addTask { try await engine.customCommand([Bytes("GET"), Bytes(key)], route: nil).singleValue?.stringValue }
                }
                var values: [String?] = []
                for try await value in group { values.append(value) }
                return values
            }
        }
    }

    /// `SET key value`, through the engine's whole request path.
    func set(_ key: String, _ value: String) async throws {
        let engine = self.engine
        _ = try await run { try await engine.customCommand([Bytes("SET"), Bytes(key), Bytes(value)], route: nil) }
    }

    /// Closes the engine and runs the loop until it let go of everything; drops the script, which
    /// may hold the cluster.
    func close() async throws {
        let engine = self.engine
        try await run { await engine.close() }
        settle()
        cluster.state.withLock { $0.script = nil }
    }
}

/// What a task driven by `FakeClusterHarness.run` ended with, once it ended.
final class DrivenOutcome<T: Sendable>: Sendable {
    let result = Lock<Result<T, any Error>?>(nil)
}

/// The driven task could not go on.
struct FakeClusterStuck: Error {}
