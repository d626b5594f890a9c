import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

/// `coalescesReads` on a real server: concurrent identical reads share round trips, every caller
/// gets the right value, and a read started after a write returned sees it.
@Suite(.timeLimit(.minutes(3))) struct ReadCoalescingTests {
    /// The times the server ran `GET`, from `INFO commandstats`.
    static func gets(_ admin: GlideClient) async throws -> Int {
        let stats = try await admin.customCommand(["INFO", "commandstats"]).stringValue ?? ""
        guard let line = stats.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_get:") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) })
        else { return 0 }
        return calls
    }

    /// 1,000 tasks read `key` at once, on the client's loop (so they are queued in one turn, as
    /// callers on the loop are, whatever else the machine runs); returns what each read.
    static func readTogether(_ client: GlideClient, _ key: String) async throws -> [String?] {
        try await withTaskExecutorPreference(client.taskExecutor) {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<1_000 { group.addTask { try await client.get(key) } }
                var values: [String?] = []
                for try await value in group { values.append(value) }
                return values
            }
        }
    }

    @Test func aThousandReadersOfOneKeyShareRoundTripsAndAllGetItsValue() async throws {
        // A server of its own: the counts are the server's, for every client.
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let admin = try await server.client()
        let plain = try await server.client()
        let coalescing = try await server.client {
            $0.coalescesReads = true
            $0.requestTimeout = .seconds(10)
        }
        try await admin.set("hot", "value")
        let before = try await Self.gets(admin)
        #expect(try await Self.readTogether(plain, "hot").allSatisfy { $0 == "value" })
        let middle = try await Self.gets(admin)
        let values = try await Self.readTogether(coalescing, "hot")
        let after = try await Self.gets(admin)
        print("1,000 concurrent GETs of one key: \(middle - before) reached the server without coalescing, \(after - middle) with it")
        #expect(middle - before == 1_000)
        #expect(values.count == 1_000 && values.allSatisfy { $0 == "value" })
        #expect(after - middle <= 100, "\(after - middle) GETs reached the server")
        await admin.close()
        await plain.close()
        await coalescing.close()
    }

    @Test func aReadStartedAfterAWriteReturnedSeesIt() async throws {
        let server = try await SharedServer.valkey()
        let key = SharedServer.uniqueKey("coalesced")
        let client = try await server.client {
            $0.coalescesReads = true
            $0.requestTimeout = .seconds(10)
        }
        try await client.set(key, "0")
        let stop = Flag()
        // Readers keep reads of the key in flight, so later reads find requests to join.
        let readers = (0..<50).map { _ in
            Task {
                while !stop.isSet { _ = try? await client.get(key) }
            }
        }
        var stale = 0
        for round in 1...300 {
            try await client.set(key, String(round))
            let seen = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 { group.addTask { Int(try await client.get(key) ?? "") ?? -1 } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            stale += seen.filter { $0 < round }.count
        }
        stop.set()
        for reader in readers { await reader.value }
        #expect(stale == 0, "\(stale) reads started after a write returned missed it")
        await client.close()
    }
}

/// `coalescesReads` beyond one node: on the replicas of a standalone client and on a cluster's
/// nodes, the same sharing and the same values.
@Suite(.timeLimit(.minutes(3))) struct ReadCoalescingBeyondOneNodeTests {
    @Test func replicaReadsOfAStandaloneClientAreShared() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.readFrom = .preferReplica
                $0.coalescesReads = true
                $0.requestTimeout = .seconds(10)
            })
        try await client.set("hot", "value")
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        let before = try await set.calls(of: "get", on: set.replicas[0])
        let values = try await withTaskExecutorPreference(client.taskExecutor) {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<1_000 { group.addTask { try await client.get("hot") } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
        }
        let served = try await set.calls(of: "get", on: set.replicas[0]) - before
        print("1,000 concurrent replica GETs of one key with coalescing: \(served) reached the replica")
        #expect(values.count == 1_000 && values.allSatisfy { $0 == "value" })
        #expect(served > 0 && served <= 100, "\(served) GETs reached the replica")
        await client.close()
    }

    @Test func aClusterClientSharesReadsOnTheKeysNode() async throws {
        let cluster = try await TestCluster.start(primaries: 1, replicasPerPrimary: 0)
        defer { cluster.stop() }
        let client = try await cluster.client {
            $0.coalescesReads = true
            $0.requestTimeout = .seconds(10)
        }
        try await client.set("hot", "value")
        let node = try await cluster.primary(forSlot: HashSlot.of("hot"))
        let before = try await cluster.calls(of: "get", on: node)
        let values = try await withTaskExecutorPreference(client.taskExecutor) {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<1_000 { group.addTask { try await client.get("hot") } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
        }
        let served = try await cluster.calls(of: "get", on: node) - before
        print("1,000 concurrent cluster GETs of one key with coalescing: \(served) reached its node")
        #expect(values.count == 1_000 && values.allSatisfy { $0 == "value" })
        #expect(served > 0 && served <= 100, "\(served) GETs reached the node")
        // A write then a read: the read sees it.
        for round in 1...50 {
            try await client.set("hot", String(round))
            #expect(try await client.get("hot") == String(round))
        }
        await client.close()
    }
}
