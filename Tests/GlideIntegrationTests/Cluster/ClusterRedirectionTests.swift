import Foundation
import Glide
import GlideTestSupport
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
