import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// Tests that change the cluster's shape run one after another on a cluster of their own.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterReshapingTests {
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 0) }

    @Test func movedAfterASlotMigrationIsFollowedAndPatchesTheMap() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.topologyRefresh.periodicInterval = nil }
        let key = SharedServer.uniqueKey()
        let slot = HashSlot.of(key)
        try await client.set(key, "before")
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        try await cluster.migrateSlot(slot, to: target)
        // The client still maps the slot to the source, which now answers MOVED.
        #expect(SlotMap(try #require(client.topology)).primary(forSlot: slot) == source.address)
        #expect(try await client.get(key) == "before")
        try await client.set(key, "after")
        #expect(try await cluster.command(target, ["GET", key]).stringValue == "after")
        // The refresh the MOVED asked for adopts the new owner.
        try await cluster.waitUntil("the client's topology has the move") {
            client.topology.map { SlotMap($0).primary(forSlot: slot) } == target.address
        }
        try await cluster.migrateSlot(slot, to: source)
        #expect(try await client.get(key) == "after")
        await client.close()
    }

    @Test func askDuringAMigrationInProgressReachesTheKeysThatMoved() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        let moved = tag + "moved"
        let stayed = tag + "stayed"
        let slot = HashSlot.of(moved)
        try await client.set(moved, "m")
        try await client.set(stayed, "s")
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        try await cluster.beginMigration(slot: slot, to: target, moving: [moved])
        // The source no longer has `moved` and answers ASK for it; the client asks the target.
        let direct = await #expect(throws: GlideError.self) { try await cluster.command(source, ["GET", moved]) }
        #expect(direct?.serverCode == "ASK")
        #expect(try await client.get(moved) == "m")
        #expect(try await client.get(stayed) == "s")
        // A new key of a migrating slot is created on the target.
        try await client.set(tag + "new", "n")
        #expect(try await client.get(tag + "new") == "n")
        // The slot map did not change: ASK is not MOVED.
        #expect(SlotMap(try #require(client.topology)).primary(forSlot: slot) == source.address)
        // A transaction on keys that moved follows ASK too (ASKING before MULTI).
        let results = try await client.exec(ClusterTransaction().get(moved).set(moved, "m2").get(moved))
        #expect(results?.map(\.stringValue) == ["m", "OK", "m2"])
        // One whose keys the migration splits can't run until it ends: the target says
        // TRYAGAIN, and the client waits for the migration until its timeout, then says so: a
        // timeout tagged TRYAGAIN, whether the deadline passed in a pause or in a retry. The
        // client reaches the target once first, so its first TRYAGAIN needs no new connection.
        let impatient = try await cluster.client { $0.requestTimeout = .seconds(1) }
        #expect(try await impatient.get(moved) == "m2")
        let split = await #expect(throws: GlideError.self) {
            try await impatient.exec(ClusterTransaction().get(moved).get(stayed))
        }
        #expect(split?.code == .timeout, "\(String(describing: split))")
        #expect(split?.serverCode == "TRYAGAIN", "\(String(describing: split))")
        await impatient.close()
        try await cluster.finishMigration(slot: slot, from: source, to: target)
        #expect(try await client.get(stayed) == "s")
        #expect(try await client.exec(ClusterTransaction().get(moved).get(stayed))?.map(\.stringValue) == ["m2", "s"])
        try await cluster.migrateSlot(slot, to: source)
        await client.close()
    }

    @Test func anAtomicSlotMigrationUnderLoadIsInvisibleToCallers() async throws {
        let cluster = try await Self.cluster.value
        guard ServerBinaries.mainServer.isValkey && ServerBinaries.mainServer.version >= ServerVersion("9.0") else {
            let node = try await cluster.primaries()[0]
            await #expect(throws: (any Error).self) {
                try await cluster.command(node, ["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE", node.id])
            }
            print("\(ServerBinaries.mainServer.version): no atomic slot migration (Valkey 9.0)")
            return
        }
        // A generous timeout: a timeout here would be the client stalling, not the machine's load.
        let client = try await cluster.client { $0.requestTimeout = .seconds(5) }
        let tag = "{\(SharedServer.uniqueKey())}"
        let slot = HashSlot.of(tag)
        // Keys for the migration to move while the load runs.
        var seeds = ClusterBatch(isAtomic: false)
        for index in 0..<20_000 { seeds.add(SET("\(tag):seed:\(index)", "s\(index)")) }
        _ = try await client.exec(seeds, options: ClusterBatchOptions(timeout: .seconds(30)))
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        let tally = Tally()
        let stop = Flag()
        let counter = Counter()
        let acknowledged = Acknowledgements()
        let began = ContinuousClock.now
        @Sendable func write() async {
            while !stop.isSet {
                let index = counter.next()
                do throws(GlideError) {
                    try await client.set("\(tag):w:\(index)", "v\(index)")
                    acknowledged.append(Acknowledged(key: "\(index)", at: ContinuousClock.now - began))
                    tally.record("ok")
                } catch {
                    tally.record("write \(error.code) \(error.serverCode ?? "")")
                }
            }
        }
        var writers: [Task<Void, Never>] = []
        for _ in 0..<8 { writers.append(Task { await write() }) }
        let reader = Task {
            var index = 0
            while !stop.isSet {
                index = (index + 7919) % 20_000
                do throws(GlideError) {
                    let value = try await client.get("\(tag):seed:\(index)")
                    tally.record(value == "s\(index)" ? "ok" : "read wrong: \(String(describing: value))")
                } catch {
                    tally.record("read \(error.code) \(error.serverCode ?? "")")
                }
            }
        }
        try await Polling.waitUntil("the load runs", timeout: .seconds(10)) { tally.counts["ok", default: 0] > 200 }
        let started = ContinuousClock.now
        try await cluster.migrateSlotAtomically(slot, to: target)
        let migrated = ContinuousClock.now - started
        let mark = counter.value
        try await Polling.waitUntil("the writes go on after the migration", timeout: .seconds(10)) { counter.value > mark + 200 }
        stop.set()
        for writer in writers { await writer.value }
        await reader.value
        let counts = tally.counts
        print("atomic slot migration of 20,000 keys under load: done in \(migrated); \(counts.sorted { $0.key < $1.key })")
        #expect(counts.keys.sorted() == ["ok"], "no caller saw an error or a wrong value: \(counts)")
        // Every acknowledged write is on the new owner, with its value.
        let written = acknowledged.all.compactMap { Int($0.key) }.sorted()
        for chunk in stride(from: 0, to: written.count, by: 500).map({ Array(written[$0..<min($0 + 500, written.count)]) }) {
            let values = try await cluster.command(target, ["MGET"] + chunk.map { "\(tag):w:\($0)" })
            guard case .array(let found) = values else {
                Issue.record("MGET on the target: \(values)")
                return
            }
            #expect(found.map(\.stringValue) == chunk.map { "v\($0)" })
        }
        #expect(try await cluster.command(target, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]).intValue == 20_000 + written.count)
        // The client's map follows the move.
        try await cluster.waitUntil("the client's topology has the move") {
            client.topology.map { SlotMap($0).primary(forSlot: slot) } == target.address
        }
        await client.close()
    }

    @Test func aNodeAddedWithSlotsIsFoundByThePeriodicCheck() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.topologyRefresh.periodicInterval = .milliseconds(300) }
        let node = try await cluster.addNode()
        let key = SharedServer.uniqueKey()
        let slot = HashSlot.of(key)
        let source = try await cluster.primary(forSlot: slot)
        try await cluster.migrateSlot(slot, to: node)
        // No request meets MOVED here: only the periodic check can bring the news.
        try await cluster.waitUntil("the periodic check finds the new node", timeout: .seconds(10)) {
            client.topology.map { SlotMap($0).primary(forSlot: slot) } == node.address
        }
        try await client.set(key, "on the new node")
        #expect(try await cluster.command(node, ["GET", key]).stringValue == "on the new node")
        try await cluster.migrateSlot(slot, to: source)
        try await cluster.waitUntil("the client sees the slot return", timeout: .seconds(10)) {
            client.topology.map { SlotMap($0).primary(forSlot: slot) } == source.address
        }
        await client.close()
    }

    @Test func flushallEmptiesEveryPrimary() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client()
        let keys = (0..<20).map { "flush:\($0)" }
        try await client.execute(MSET(data: keys.map { .init(key: $0, value: "x") }))
        #expect(try await client.execute(DBSIZE()) >= 20)
        try await client.execute(FLUSHALL())
        #expect(try await client.execute(DBSIZE()) == 0)
        for primary in try await cluster.primaries() {
            #expect(try await cluster.command(primary, ["DBSIZE"]).intValue == 0)
        }
        await client.close()
    }
}
