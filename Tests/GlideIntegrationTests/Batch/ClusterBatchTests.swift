import Glide
import GlideTestSupport
import GlideTransport
import Testing

@testable import GlideClient

/// `ClusterBatch` on real clusters: split by node, typed results in order, redirections during
/// a migration, and the retry strategy.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterBatchTests {
    /// A cluster of its own: its slots move.
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 0) }
    /// A loop of its own for the bulk batch, so its 1,201 commands don't delay other tests' replies.
    static let loop = EpollEventLoop(name: "cluster-batch-tests")

    @Test func aNonAtomicBatchIsSplitByNodeAndComesBackInOrder() async throws {
        let cluster = try await SharedCluster.valkey()
        // A bulk request's deadline is the whole batch's: not the 250 ms default on a busy machine.
        let client = try await cluster.client {
            $0.eventLoop = Self.loop
            $0.requestTimeout = .seconds(10)
        }
        let prefix = SharedServer.uniqueKey()
        var batch = ClusterBatch(isAtomic: false)
        let keys = (0..<600).map { "\(prefix):\($0)" }
        let map = SlotMap(try await cluster.topology(from: cluster.nodes[0]))
        #expect(Set(keys.compactMap { map.primary(forSlot: HashSlot.of($0)) }).count == 3, "the batch spans every primary")
        for (index, key) in keys.enumerated() { batch.add(SET(key, "v\(index)")) }
        let echo = batch.add(ECHO("hello"))
        let reads = keys.map { batch.add(GET($0)) }
        let results = try #require(try await client.exec(batch))
        #expect(results.count == 1_201)
        #expect(try results[echo].string == "hello")
        for (index, read) in reads.enumerated() { #expect(try results[read]?.string == "v\(index)") }
        for (index, key) in keys.enumerated().prefix(20) { #expect(try await client.get(key) == "v\(index)") }
        await client.close()
    }

    @Test func anAtomicBatchNeedsOneSlotAndRunsThere() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        var batch = ClusterBatch(isAtomic: true)
        batch.add(SET("\(tag):a", "1"))
        let incremented = batch.add(INCR("\(tag):a"))
        let results = try #require(try await client.exec(batch))
        #expect(try results[incremented] == 2)

        var crossing = ClusterBatch(isAtomic: true)
        crossing.add(SET("\(tag):a", "1"))
        crossing.add(SET("elsewhere-\(tag.dropFirst().dropLast())", "2"))
        let error = await #expect(throws: GlideError.self) { try await client.exec(crossing) }
        #expect(error?.code == .routing && error?.message.contains("one hash slot") == true)
        // A non-atomic batch takes the same commands.
        var split = ClusterBatch(isAtomic: false)
        split.add(SET("\(tag):a", "1"))
        split.add(SET("elsewhere-\(tag.dropFirst().dropLast())", "2"))
        #expect(try await client.exec(split)?.count == 2)
        await client.close()
    }

    @Test func aCommandForSeveralNodesIsSentToEachAndItsRepliesCombined() async throws {
        // This suite's own cluster: nothing else writes to it, so DBSIZE is known.
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(5) }
        let map = SlotMap(try await cluster.topology(from: cluster.nodes[0]))
        let prefix = SharedServer.uniqueKey()
        // One key on each primary.
        var keys: [NodeAddress: String] = [:]
        for index in 0..<200 where keys.count < 3 {
            let key = "\(prefix):\(index)"
            if let owner = map.primary(forSlot: HashSlot.of(key)), keys[owner] == nil { keys[owner] = key }
        }
        let (k0, k1, k2) = try #require(keys.count == 3 ? (Array(keys.values)[0], Array(keys.values)[1], Array(keys.values)[2]) : nil)
        let before = try await client.dbsize()
        var batch = ClusterBatch(isAtomic: false)
        batch.add(SET(k0, "zero"))
        batch.add(SET(k1, "one"))
        // Each node runs its part after the SET sent to it before: the batch's order holds per node.
        let read = batch.add(MGET([k2, k1, k0]))
        let size = batch.add(DBSIZE())
        let removed = batch.customCommand(["DEL", k0, k1, k2])
        let info = batch.customCommand(["INFO", "server"])
        let left = batch.add(EXISTS([k0, k1, k2]))
        let results = try #require(try await client.exec(batch))
        #expect(try results[read].map { $0?.string } == [nil, "one", "zero"])
        #expect(try results[size] == before + 2)
        #expect(try results[removed] == .integer(2))
        guard case .map(let byNode) = try results[info] else {
            Issue.record("INFO in a batch is a map by node: \(String(describing: try? results[info]))")
            return
        }
        #expect(Set(byNode.compactMap { $0.key.stringValue }) == Set(keys.keys.map(\.description)))
        #expect(byNode.allSatisfy { $0.value.stringValue?.contains("tcp_port:") == true })
        #expect(try results[left] == 0)
        await client.close()
    }

    @Test func aRoutedBatchGoesToOneNodeAndItsCommandsFollowMoved() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<30).map { "\(prefix):\($0)" }
        let node = try await cluster.primary(forSlot: HashSlot.of(keys[0]))
        var batch = ClusterBatch(isAtomic: false)
        let writes = keys.map { batch.add(SET($0, $0)) }
        let route = Route.byAddress(host: node.address.host, port: node.address.port)
        @Sendable func moved() async throws -> Int {
            let stats = try await cluster.command(node, ["INFO", "errorstats"]).stringValue ?? ""
            let line = stats.split(separator: "\r\n").first { $0.hasPrefix("errorstat_MOVED:") }
            return line.flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
        }
        let map = SlotMap(try await cluster.topology(from: node))
        let owned = keys.filter { map.primary(forSlot: HashSlot.of($0)) == node.address }.count
        let before = try await moved()
        let results = try #require(try await client.exec(batch, options: ClusterBatchOptions(route: route)))
        // All 30 went to the routed node first; those it doesn't serve came back MOVED and were
        // written where they belong.
        let after = try await moved()
        #expect(owned < 30 && after - before >= 30 - owned)
        for write in writes { #expect(try results[write] == .simpleString("OK")) }
        for key in keys { #expect(try await client.get(key) == key) }
        await client.close()
    }

    @Test func raiseOnErrorBothWaysOnACluster() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        var batch = ClusterBatch(isAtomic: false)
        batch.add(SET("\(prefix):text", "x"))
        let failing = batch.add(INCR("\(prefix):text"))
        let other = batch.add(INCR("\(prefix):number"))
        #expect(await #expect(throws: GlideError.self) { try await client.exec(batch) }?.code == .server)
        let results = try #require(try await client.exec(batch, raiseOnError: false))
        #expect(throws: GlideError.self) { try results[failing] }
        #expect(try results[other] == 2)
        await client.close()
    }

    @Test func watchOnADedicatedConnectionToAKeysNode() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        try await client.set("\(tag):balance", "100")
        let (aborted, address) = try await client.withDedicatedConnection(forKey: "\(tag):balance") { connection in
            try await connection.watch(["\(tag):balance"])
            try await client.set("\(tag):balance", "90")
            var debit = Batch(isAtomic: true)
            debit.add(DECRBY("\(tag):balance", decrement: 10))
            return (try await connection.exec(debit), connection.address)
        }
        #expect(aborted == nil)
        #expect(address == (try await cluster.primary(forSlot: HashSlot.of("\(tag):balance"))).address)
        let error = await #expect(throws: GlideError.self) { try await client.watch(["\(tag):balance"]) }
        #expect(error?.code == .configuration)
        await client.close()
    }

    @Test func aLostConnectionFailsItsCommandsUnlessTheStrategyRetriesThem() async throws {
        let cluster = try await SharedCluster.valkey()
        let name = "batch-\(Int.random(in: 0..<1_000_000))"
        let client = try await cluster.client { $0.clientName = name }
        let tag = "{\(SharedServer.uniqueKey())}"
        let node = try await cluster.primary(forSlot: HashSlot.of(tag))
        for retry in [false, true] {
            var batch = ClusterBatch(isAtomic: false)
            let first = batch.add(INCR("\(tag):count"))
            // Blocks until killed or unblocked, never by a timer: a slow machine can't end it first.
            let blocked = batch.add(BLPOP(["\(tag):empty"], timeout: 0))
            let options = ClusterBatchOptions(timeout: .seconds(5), retryStrategy: BatchRetryStrategy(retryConnectionError: retry))
            let running = Task { try await client.exec(batch, raiseOnError: false, options: options) }
            // Once the server holds our connection in BLPOP, the pipeline is sent: kill that connection.
            @Sendable func blockedID() async throws -> String? {
                let clients = try await cluster.command(node, ["CLIENT", "LIST"]).stringValue ?? ""
                return clients.split(separator: "\n").first { $0.contains("name=\(name) ") && $0.contains("cmd=blpop") }?
                    .split(separator: " ").first?.dropFirst(3).description
            }
            try await cluster.waitUntil("the pipeline blocks on the server", timeout: .seconds(10)) { try await blockedID() != nil }
            let killed = try #require(try await blockedID())
            _ = try await cluster.command(node, ["CLIENT", "KILL", "ID", killed])
            if retry {
                // Sent again on a new connection: once it blocks there, end its wait as a timeout would.
                try await cluster.waitUntil("the retried BLPOP blocks", timeout: .seconds(10)) {
                    try await blockedID().map { $0 != killed } ?? false
                }
                _ = try await cluster.command(node, ["CLIENT", "UNBLOCK", try #require(try await blockedID())])
            }
            let results = try #require(try await running.value)
            if retry {
                // Sent again, one by one: the INCR may have run twice (it ran before the loss).
                #expect(try results[first] >= 1)
                #expect(try results[blocked] == .null)
            } else {
                let error = #expect(throws: GlideError.self) { try results[first] }
                #expect(error?.code == .connectionClosed)
                #expect(throws: GlideError.self) { try results[blocked] }
            }
        }
        await client.close()
    }

    @Test func aPerRequestTimeoutReplacesTheRequestTimeoutOnACluster() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client()  // requestTimeout 250 ms
        let key = SharedServer.uniqueKey()
        let node = try await cluster.primary(forSlot: HashSlot.of(key))
        _ = try await cluster.command(node, ["CLIENT", "PAUSE", "800", "WRITE"])
        let short = await #expect(throws: GlideError.self) {
            try await client.customCommand(["SET", key, "1"], timeout: .milliseconds(100))
        }
        #expect(short?.code == .timeout)
        #expect(try await client.execute(SET(key, "2"), timeout: .seconds(5)) == .simpleString("OK"))
        #expect(try await client.get(key) == "2")
        await client.close()
    }

    @Test func commandsFollowAskAndMovedDuringAMigration() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        let moved = "\(tag):moved"
        let stays = "\(tag):stays"
        let others = (0..<30).map { "\(SharedServer.uniqueKey()):\($0)" }
        try await client.set(moved, "m")
        try await client.set(stays, "s")
        for key in others { try await client.set(key, key) }
        let slot = HashSlot.of(moved)
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        try await cluster.beginMigration(slot: slot, to: target, moving: [moved])

        // Mid-migration: the moved key is answered ASK by its old owner and read at the new one.
        var batch = ClusterBatch(isAtomic: false)
        let movedRead = batch.add(GET(moved))
        let staysRead = batch.add(GET(stays))
        let otherReads = others.map { batch.add(GET($0)) }
        let during = try #require(try await client.exec(batch))
        #expect(try during[movedRead]?.string == "m")
        #expect(try during[staysRead]?.string == "s")
        for (key, read) in zip(others, otherReads) { #expect(try during[read]?.string == key) }

        // After it: the client's map is stale, so the old owner answers MOVED, and it is followed.
        try await cluster.finishMigration(slot: slot, from: source, to: target)
        let after = try #require(try await client.exec(batch))
        #expect(try after[movedRead]?.string == "m" && after[staysRead]?.string == "s")
        #expect(try await cluster.calls(of: "get", on: target) > 0)
        await client.close()
    }

    @Test func theRetryStrategyDecidesAboutTryAgain() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(5) }
        let tag = "{\(SharedServer.uniqueKey())}"
        let keys = ["\(tag):a", "\(tag):b"]
        for key in keys { try await client.set(key, key) }
        let slot = HashSlot.of(keys[0])
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        // One key moved, one not: a command on both meets TRYAGAIN until the migration ends.
        try await cluster.beginMigration(slot: slot, to: target, moving: [keys[0]])
        var batch = ClusterBatch(isAtomic: false)
        let both = batch.add(MGET(keys))

        let without = try #require(try await client.exec(batch, raiseOnError: false))
        let error = #expect(throws: GlideError.self) { try without[both] }
        #expect(error?.serverCode == "TRYAGAIN")

        let finishing = Task {
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.finishMigration(slot: slot, from: source, to: target)
        }
        let with = try #require(
            try await client.exec(batch, options: ClusterBatchOptions(retryStrategy: BatchRetryStrategy(retryServerError: true))))
        #expect(try with[both].map { $0?.string } == keys)
        try await finishing.value
        await client.close()
    }
}
