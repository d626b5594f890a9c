import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

/// Crashes, restarts and a reshard under load, on a cluster of their own (a short node timeout
/// makes crash failovers quick). Serialized: each test leaves the cluster whole for the next.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterFaultTests {
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000) }

    /// Errors a caller may see while a shard has no primary: typed, and nothing else.
    static let outageCodes: Set<GlideError.Code> = [.connectionFailed, .connectionClosed, .timeout, .server]

    /// Runs `tasks` writers, each on a key of its own: SET of a growing counter, acknowledged once
    /// `WAIT` says a replica has it, then a GET that must return the task's own last value.
    /// `during` runs meanwhile; the writers stop when it returns. Returns each key's last
    /// acknowledged and last attempted counter.
    func writeUnderLoad(
        _ client: GlideClusterClient, keys: [String], load: LoadState,
        during: () async throws -> Void
    ) async throws -> [String: (acknowledged: Int, attempted: Int)] {
        try await withThrowingTaskGroup(of: (String, Int, Int).self) { group in
            for key in keys {
                group.addTask {
                    var acknowledged = 0
                    var attempted = 0
                    while !load.stop.load(ordering: .relaxed) {
                        do {
                            attempted += 1
                            try await client.set(key, "\(key)=\(attempted)")
                            // The server waits at most 500 ms: a shard left without a replica
                            // answers 0 then, and WAITs don't pile up on its connection. Only the
                            // client's slack past that is scaled, for instrumented builds.
                            let replicas =
                                try await client.customCommand(
                                    ["WAIT", "1", "500"], route: .slotKey(BulkString(key), .primary),
                                    timeout: TestTiming.bound(.milliseconds(500))
                                ).singleValue?.intValue ?? 0
                            let read = try await client.get(key)
                            if read != "\(key)=\(attempted)" {
                                load.failures.withLock { $0.append("\(key): wrote \(attempted), read \(read ?? "nil")") }
                            }
                            if replicas >= 1 { acknowledged = attempted }
                            load.operations.add(3, ordering: .relaxed)
                        } catch {
                            if !((error as? GlideError).map { Self.outageCodes.contains($0.code) } ?? false) {
                                load.failures.withLock { $0.append("\(key): \(error)") }
                            }
                            load.errors.add(1, ordering: .relaxed)
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    return (key, acknowledged, attempted)
                }
            }
            try await Polling.waitUntil("the load runs") { load.operations.load(ordering: .relaxed) > 100 }
            do {
                try await during()
            } catch {
                load.stop.store(true, ordering: .relaxed)
                throw error
            }
            load.stop.store(true, ordering: .relaxed)
            var results: [String: (Int, Int)] = [:]
            for try await (key, acknowledged, attempted) in group { results[key] = (acknowledged, attempted) }
            return results
        }
    }

    /// Checks that every key holds its last acknowledged write or a later attempted one.
    func expectNoAcknowledgedWriteLost(
        _ results: [String: (acknowledged: Int, attempted: Int)],
        _ client: GlideClusterClient
    ) async throws {
        for (key, counts) in results {
            let value = try await client.get(key).flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
            #expect(
                value >= counts.acknowledged && value <= counts.attempted,
                "\(key) holds \(value): acknowledged \(counts.acknowledged), attempted \(counts.attempted)")
        }
    }

    @Test func aPrimaryKilledUnderLoadLosesNoAcknowledgedWriteAndRejoinsAsAReplica() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(2) }
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<20).map { "\(prefix):\($0)" }
        let victim = try await cluster.primary(forSlot: HashSlot.of(keys[0]))
        #expect(try await keys.asyncCount { try await cluster.primary(forSlot: HashSlot.of($0)).id == victim.id } >= 2)

        let load = LoadState()
        let clock = ContinuousClock()
        var killedAt = clock.now
        let results = try await writeUnderLoad(client, keys: keys, load: load) {
            killedAt = clock.now
            await cluster.kill(victim)
            try await cluster.waitForFailover(of: victim)
            // Load keeps running on the new primary for a while.
            try await Task.sleep(for: .seconds(1))
        }
        let problems = load.failures.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(load.operations.load(ordering: .relaxed) > 300)
        try await expectNoAcknowledgedWriteLost(results, client)
        print(
            "primary kill under 20 tasks: \(load.operations.load(ordering: .relaxed)) operations, "
                + "\(load.errors.load(ordering: .relaxed)) typed outage errors, failover seen \(clock.now - killedAt) after the kill")

        // The old primary, restarted on its port, rejoins as a replica of its successor, and the
        // client keeps serving the shard.
        try await cluster.restart(victim)
        try await cluster.waitUntilConsistent()
        let role = try await cluster.command(victim, ["ROLE"]).arrayValue?.first?.stringValue
        #expect(role == "slave" || role == "replica")
        try await client.set(keys[0], "after")
        #expect(try await client.get(keys[0]) == "after")
        await client.close()
    }

    /// Under `cluster-require-full-coverage yes` (the servers' default, and this cluster's), a
    /// shard without a primary makes every node refuse every key (`CLUSTERDOWN`) until a replica
    /// takes over. The replica is frozen first, so the outage lasts until the test lets it end: a
    /// request for a healthy shard made during it is still waiting when the replica is thawed,
    /// and succeeds once the servers serve again, within its deadline, on the same client.
    @Test func aRequestMadeWhileTheServersRefuseEveryKeySucceedsOnceTheyServeAgain() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(30) }
        let primaries = try await cluster.primaries()
        let victim = primaries[0]
        let successor = try #require(try await cluster.replicas(of: victim).first)
        let healthy = primaries[1]
        let map = SlotMap(try await cluster.topology(from: healthy))
        let prefix = SharedServer.uniqueKey()
        let key = try #require((0..<10_000).map { "\(prefix):\($0)" }.first { map.primary(forSlot: HashSlot.of($0)) == healthy.address })
        try await client.set(key, "kept")

        successor.server.freeze()
        await cluster.kill(victim)
        try await cluster.waitUntil("the healthy primary refuses every key", timeout: .seconds(20)) {
            (try await cluster.command(healthy, ["CLUSTER", "INFO"]).stringValue ?? "").contains("cluster_state:fail")
        }
        let answered = Flag()
        let clock = ContinuousClock()
        let request = Task {
            defer { answered.set() }
            return try await client.get(key)
        }
        // Nothing can answer it while the shard has no primary.
        try await Task.sleep(for: .milliseconds(500))
        let answeredEarly = answered.isSet
        #expect(!answeredEarly, "the request waits while the servers refuse")
        let thawed = clock.now
        successor.server.thaw()
        // When the servers serve again, as the healthy primary itself says.
        let servingAgain = Task {
            while !((try? await cluster.command(healthy, ["CLUSTER", "INFO"]).stringValue) ?? "").contains("cluster_state:ok") {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return clock.now
        }
        #expect(try await request.value == "kept", "the request waited out CLUSTERDOWN")
        let answeredAt = clock.now
        let servedAt = await servingAgain.value
        print(
            "full coverage: the servers served again \(servedAt - thawed) after the replica was thawed; "
                + "the waiting request was answered \(answeredAt - servedAt) after that")

        // The old primary comes back as a replica, so the next test has a whole cluster.
        try await cluster.restart(victim)
        try await cluster.waitUntilConsistent()
        await client.close()
    }

    @Test func aKilledReplicaSendsReadsToThePrimaryAndGetsThemBackOnceRestarted() async throws {
        let cluster = try await Self.cluster.value
        let key = SharedServer.uniqueKey()
        let writer = try await cluster.client()
        let (primary, replica) = try await cluster.writeReplicated(key, "value", with: writer)
        // A periodic check every second, so the map takes the replica back soon after it returns.
        let reader = try await cluster.client {
            $0.readFrom = .preferReplica
            $0.requestTimeout = .seconds(2)
            $0.topologyRefresh.periodicInterval = .seconds(1)
        }
        let replicaBefore = try await cluster.calls(of: "get", on: replica)
        for _ in 0..<10 { #expect(try await reader.get(key) == "value") }
        #expect(try await cluster.calls(of: "get", on: replica) - replicaBefore == 10)

        await cluster.kill(replica)
        // Every read succeeds: on the primary, while the replica is gone.
        var failed: [String] = []
        let primaryBefore = try await cluster.calls(of: "get", on: primary)
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<50 {
            do {
                if try await reader.get(key) != "value" { failed.append("wrong value") }
            } catch {
                failed.append("\(error)")
            }
        }
        print("replica killed with preferReplica: 50 reads took \(clock.now - started), \(failed.count) failed")
        #expect(failed.isEmpty, "\(failed.prefix(3))")
        #expect(try await cluster.calls(of: "get", on: primary) - primaryBefore >= 50)

        // Restarted on its port, the replica syncs, and the client reads from it again, without
        // being asked to reconnect.
        try await cluster.restart(replica)
        try await cluster.waitUntilConsistent()
        try await cluster.waitUntil("reads reach the restarted replica") {
            let before = try await cluster.calls(of: "get", on: replica)
            for _ in 0..<10 { _ = try? await reader.get(key) }
            return try await cluster.calls(of: "get", on: replica) > before
        }
        await reader.close()
        await writer.close()
    }

    @Test func aReshardOf500SlotsUnderLoadShowsCallersNoError() async throws {
        let cluster = try await Self.cluster.value
        // Scaled: on an instrumented build under load (make tsan) the client itself is slow enough
        // for 2 s to pass between a reply's arrival and its reading, which is no error of the
        // reshard's. The reshard must show callers no error at any speed.
        let client = try await cluster.client { $0.requestTimeout = TestTiming.bound(.seconds(2)) }
        let primaries = try await cluster.primaries()
        let map = SlotMap(try await cluster.topology(from: primaries[0]))
        // 500 slots of one shard go to another; the writers' keys live in those slots.
        let source = try #require(primaries.first)
        let target = try #require(primaries.last)
        let moving = (0..<HashSlot.count).map(UInt16.init).filter { map.primary(forSlot: $0) == source.address }.prefix(500)
        #expect(moving.count == 500)
        let movingSet = Set(moving)
        let prefix = SharedServer.uniqueKey()
        let keys = Array((0..<100_000).lazy.map { "\(prefix):\($0)" }.filter { movingSet.contains(HashSlot.of($0)) }.prefix(20))
        #expect(keys.count == 20)

        let load = LoadState()
        let results = try await writeUnderLoad(client, keys: keys, load: load) {
            try await cluster.reshard(moving, to: target)
        }
        let problems = load.failures.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(load.errors.load(ordering: .relaxed) == 0, "a reshard shows callers no error")
        #expect(load.operations.load(ordering: .relaxed) > 100)
        try await expectNoAcknowledgedWriteLost(results, client)
        #expect(client.topology.map { SlotMap($0).primary(forSlot: moving.first!) } == target.address)
        print(
            "reshard of 500 slots under 20 tasks: \(load.operations.load(ordering: .relaxed)) operations, "
                + "\(load.errors.load(ordering: .relaxed)) errors")
        await client.close()
    }

    @Test func refreshesAskOnlyTheSeedsWhenToldTo() async throws {
        let cluster = try await Self.cluster.value
        let seed = try #require(cluster.liveNodes.first)
        let others = cluster.liveNodes.filter { $0.id != seed.id }
        // Redis 6 counts CLUSTER calls as one command, its subcommands together.
        let counted = ServerFeatures.has(redis: "7.0") ? "cluster|shards" : "cluster"
        @Sendable func shardsCalls(_ node: TestCluster.Node) async throws -> Int {
            try await cluster.calls(of: counted, on: node)
        }
        let client = try await cluster.client {
            $0.addresses = [seed.address]
            $0.refreshTopologyFromInitialNodes = true
            $0.topologyRefresh.periodicInterval = .milliseconds(100)
        }
        let othersBefore = try await others.asyncMap { try await shardsCalls($0) }
        let seedBefore = try await shardsCalls(seed)
        try await cluster.waitUntil("three periodic checks reach the seed") {
            try await shardsCalls(seed) >= seedBefore + 3
        }
        let othersAfter = try await others.asyncMap { try await shardsCalls($0) }
        #expect(othersAfter == othersBefore, "no refresh asked a discovered node")
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        #expect(try await client.get(key) == "v")
        await client.close()
    }

    @Test func everyNodeRestartedIsServedAgainByTheSameClient() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(1) }
        let key = SharedServer.uniqueKey()
        try await client.set(key, "before")
        let clock = ContinuousClock()
        for node in cluster.liveNodes { await cluster.kill(node) }
        let restartedAt = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in cluster.nodes { group.addTask { try await cluster.restart(node) } }
            try await group.waitForAll()
        }
        var errors: [GlideError.Code] = []
        var served = false
        while clock.now < restartedAt + .seconds(30) {
            do {
                try await client.set(key, "after")
                served = try await client.get(key) == "after"
                if served { break }
            } catch {
                errors.append(error.code)
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(served, "the client serves again once the restarted cluster is up")
        #expect(Set(errors).isSubset(of: Self.outageCodes), "\(Set(errors))")
        print("every node restarted: served again \(clock.now - restartedAt) after the restart, \(errors.count) typed errors meanwhile")
        try await cluster.waitUntilConsistent()
        // Every shard, not just one: a key per primary.
        for primary in try await cluster.primaries() {
            let map = SlotMap(try await cluster.topology(from: primary))
            let shardKey = try #require(
                (0..<10_000).map { "\(key):\($0)" }.first { map.primary(forSlot: HashSlot.of($0)) == primary.address })
            try await client.set(shardKey, "v")
            #expect(try await client.get(shardKey) == "v")
        }
        await client.close()
    }
}

extension Sequence where Element: Sendable {
    /// The results of an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
