import Foundation
import GlideTestSupport
import GlideTopology
import GlideTransport
import Testing

@testable import GlideClient

/// A SCAN over a whole cluster of its own while slots move (10,000 keys) and a primary fails.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterScanTests {
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000) }
    /// A loop of its own: these bulk writes and scans would otherwise delay the replies of every
    /// other test's client on the shared loop.
    static let loop = EpollEventLoop(name: "cluster-scan-tests")

    /// How many keys: as written under a sanitizer (`GLIDE_TEST_TIME_SCALE` > 1), a tenth as
    /// many, so these bulk suites don't starve the fault tests running beside them.
    static func scaled(_ count: Int) -> Int { TestTiming.scale > 1 ? count / 10 : count }

    /// Writes `count` keys under `prefix`, replicated before returning.
    static func keys(_ count: Int, prefix: String, on client: GlideClusterClient) async throws -> Set<String> {
        var batch = ClusterBatch(isAtomic: false)
        let keys = (0..<count).map { "\(prefix):\($0)" }
        for key in keys { batch.add(SET(key, "v")) }
        _ = try await client.exec(batch)
        _ = try await client.customCommand(["WAIT", "1", "5000"], route: .allPrimaries)
        return Set(keys)
    }

    /// Runs a scan to its end, calling `step` after each call; the keys under `prefix`.
    static func scanAll(
        _ client: GlideClusterClient, prefix: String, count: Int = 100, type: String? = nil,
        step: (Int, ClusterScanCursor) async throws -> Void = { _, _ in }
    ) async throws -> (keys: Set<String>, calls: Int) {
        var cursor = ClusterScanCursor()
        var found = Set<String>()
        var calls = 0
        while !cursor.isFinished {
            let page = try await client.scan(cursor, match: "\(prefix):*", count: count, type: type)
            cursor = page.cursor
            found.formUnion(page.keys.map(\.string))
            calls += 1
            try await step(calls, cursor)
            #expect(calls < 100_000, "the scan ends")
        }
        return (found, calls)
    }

    @Test func everyKeyIsReturnedAndTheFiltersApply() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client {
            $0.requestTimeout = .seconds(10)
            $0.eventLoop = Self.loop
        }
        let prefix = SharedServer.uniqueKey()
        let written = try await Self.keys(Self.scaled(2_000), prefix: prefix, on: client)
        for index in 0..<50 { try await client.hset("\(prefix):h\(index)", ["f": "v"]) }
        let all = try await Self.scanAll(client, prefix: prefix, count: 500)
        #expect(all.keys.count == written.count + 50 && written.isSubset(of: all.keys))
        let hashes = try await Self.scanAll(client, prefix: prefix, count: 500, type: "hash")
        #expect(hashes.keys == Set((0..<50).map { "\(prefix):h\($0)" }))
        let plainSCAN = await #expect(throws: GlideError.self) { try await client.customCommand(["SCAN", "0"]) }
        #expect(plainSCAN?.message.contains("ClusterScanCursor") == true)
        await client.close()
    }

    @Test func aReshardDuringTheScanLosesNoKey() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client {
            $0.requestTimeout = .seconds(10)
            $0.eventLoop = Self.loop
        }
        let prefix = SharedServer.uniqueKey()
        let written = try await Self.keys(Self.scaled(10_000), prefix: prefix, on: client)
        // The scan visits primaries in the order of their lowest slot.
        let first = try await cluster.primary(forSlot: 0)
        let last = try await cluster.primary(forSlot: 16383)
        let map = SlotMap(try await cluster.topology(from: first))
        let lastSlots = (UInt16(0)..<UInt16(16384)).filter { map.primary(forSlot: $0) == last.address }
        // Once the scan is inside the last primary, its 40 highest slots (ahead of its cursor: a
        // node's SCAN goes through its slots in order) move, keys and all, to the first primary,
        // which the scan has finished. A scan that counted a node's slots done from its first
        // look at them would miss those keys; then 100 more slots move in the background.
        var moved = false
        var background: Task<Void, any Error>?
        let result = try await Self.scanAll(client, prefix: prefix, count: 50) { _, cursor in
            guard !moved, cursor.node == last.address else { return }
            moved = true
            for slot in lastSlots.suffix(40).reversed() { try await cluster.migrateSlot(slot, to: first) }
            let more = Array(lastSlots.dropLast(40).suffix(100))
            background = Task { try await cluster.reshard(more, to: first) }
        }
        try await background?.value
        #expect(moved, "the reshard ran during the scan")
        let missing = written.subtracting(result.keys)
        #expect(missing.isEmpty, "\(missing.count) keys missed, e.g. \(missing.prefix(3))")
        print("cluster scan: \(result.calls) calls, \(result.keys.count) distinct keys, 140 slots moved during the scan")
        await client.close()
    }

    @Test func aPrimaryKilledDuringTheScanLosesNoKey() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client {
            $0.requestTimeout = .seconds(10)
            $0.eventLoop = Self.loop
        }
        let prefix = SharedServer.uniqueKey()
        let written = try await Self.keys(Self.scaled(3_000), prefix: prefix, on: client)
        let victim = try await cluster.primaries()[2]
        let started = ContinuousClock.now
        let result = try await Self.scanAll(client, prefix: prefix, count: 20) { calls, _ in
            if calls == 10 { await cluster.kill(victim) }
        }
        let missing = written.subtracting(result.keys)
        #expect(missing.isEmpty, "\(missing.count) keys missed, e.g. \(missing.prefix(3))")
        print("cluster scan: \(result.calls) calls over \(ContinuousClock.now - started) with a primary killed")
        try await cluster.waitForFailover(of: victim)
        try await cluster.restart(victim)
        try await cluster.waitUntilConsistent()
        await client.close()
    }
}
