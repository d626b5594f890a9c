import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// Failovers, coordinated and after a crash, on a cluster of their own (a short node timeout
/// makes the crash failover quick).
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterFailoverTests {
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000) }

    @Test func aFailoverUnderLoadLosesNoAcknowledgedWriteAndSurfacesNoRedirection() async throws {
        let cluster = try await Self.cluster.value
        let client = try await cluster.client { $0.requestTimeout = .seconds(3) }
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<20).map { "\(prefix):\($0)" }
        let victim = try await cluster.primary(forSlot: HashSlot.of(keys[0]))
        let replica = try #require(try await cluster.replicas(of: victim).first)
        #expect(try await keys.asyncCount { try await cluster.primary(forSlot: HashSlot.of($0)).id == victim.id } >= 2)

        let load = LoadState()
        let acknowledged = try await withThrowingTaskGroup(of: (String, Int).self) { group in
            for key in keys {
                group.addTask {
                    var last = 0
                    while !load.stop.load(ordering: .relaxed) {
                        do {
                            try await client.set(key, String(last + 1))
                            last += 1
                            let read = try await client.get(key).flatMap(Int.init) ?? -1
                            if read != last { load.failures.withLock { $0.append("\(key): wrote \(last), read \(read)") } }
                            load.operations.add(2, ordering: .relaxed)
                        } catch {
                            load.failures.withLock { $0.append("\(key): \(error)") }
                        }
                    }
                    return (key, last)
                }
            }
            try await Polling.waitUntil("the load runs") { load.operations.load(ordering: .relaxed) > 100 }
            try await cluster.failover(to: replica)
            try await Task.sleep(for: .milliseconds(500))
            load.stop.store(true, ordering: .relaxed)
            var results: [String: Int] = [:]
            for try await (key, last) in group { results[key] = last }
            return results
        }
        let problems = load.failures.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(!problems.contains { $0.contains("MOVED") || $0.contains("ASK") })
        #expect(load.operations.load(ordering: .relaxed) > 200)
        for (key, last) in acknowledged {
            #expect(try await client.get(key) == String(last), "every acknowledged write of \(key) is readable")
        }
        try await cluster.waitUntil("the client routes to the new primary") {
            client.topology.map { SlotMap($0).primary(forSlot: HashSlot.of(keys[0])) } == replica.address
        }
        await client.close()
    }

    @Test func aKilledPrimaryIsReplacedAndItsKeysServedAgain() async throws {
        let cluster = try await Self.cluster.value
        // Short, so the outage's errors come quickly; scaled, so the writes before the crash
        // don't time out on an instrumented build under load.
        let client = try await cluster.client { $0.requestTimeout = TestTiming.bound(.milliseconds(500)) }
        let key = SharedServer.uniqueKey()
        let victim = try await cluster.primary(forSlot: HashSlot.of(key))
        let replica = try #require(try await cluster.replicas(of: victim).first)
        try await client.set(key, "kept")
        // The write reaches the replica before the crash.
        #expect(try await client.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(key), .primary)).singleValue == 1)
        await cluster.kill(victim)

        var outageErrors: [GlideError.Code] = []
        let deadline = ContinuousClock.now + .seconds(30)
        var recovered = false
        while ContinuousClock.now < deadline {
            do {
                if try await client.get(key) == "kept" {
                    try await client.set(key, "after")
                    recovered = true
                    break
                }
            } catch {
                outageErrors.append(error.code)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(recovered, "the replica took over within 30 s")
        // While the shard had no primary, requests failed with typed errors and nothing else.
        #expect(outageErrors.allSatisfy { [.connectionFailed, .connectionClosed, .timeout, .server].contains($0) })
        #expect(try await client.get(key) == "after")
        #expect(client.topology.map { SlotMap($0).primary(forSlot: HashSlot.of(key)) } == replica.address)
        // The other shards serve as before.
        try await client.execute(MSET(data: (0..<10).map { .init(key: "\(key):\($0)", value: "v") }))
        #expect(try await client.execute(EXISTS((0..<10).map { "\(key):\($0)" })) == 10)
        await client.close()
    }
}

/// What the writer tasks of a load test share.
final class LoadState: Sendable {
    let stop = Atomic<Bool>(false)
    let failures = Lock<[String]>([])
    let operations = Atomic<Int>(0)
    /// Typed errors callers saw (each one also checked against what is allowed).
    let errors = Atomic<Int>(0)
}

extension ClusterFailoverTests {
    @Test func aRequestThatCouldNotReachADeadPrimaryIsRetriedOnItsSuccessor() async throws {
        let cluster = try await Self.cluster.value
        // A shard whose replica is alive (another test may have crashed a primary already).
        var chosen: (primary: TestCluster.Node, replica: TestCluster.Node)?
        for primary in try await cluster.primaries() {
            if let replica = try await cluster.replicas(of: primary).first(where: { $0.server.pid != nil }) {
                chosen = (primary, replica)
                break
            }
        }
        let (victim, replica) = try #require(chosen)
        let map = SlotMap(try await cluster.topology(from: replica))
        let key = try #require((0..<10_000).map { "retry:\($0)" }.first { map.primary(forSlot: HashSlot.of($0)) == victim.address })
        // No periodic check, and after the first, immediate reconnection the next waits a minute:
        // once the refreshes the crash asks for are over, nothing changes the client's map before
        // the request. The replica takes over only when told to, after that: the map still names
        // the dead primary when the request starts.
        let client = try await cluster.client {
            $0.topologyRefresh.periodicInterval = nil
            $0.requestTimeout = .seconds(10)
            $0.reconnectStrategy = BackoffStrategy(numberOfRetries: 1, factor: 60_000, jitterPercent: 0)
        }
        try await client.set(key, "kept")
        _ = try await client.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(key), .primary))
        _ = try await cluster.command(replica, ["CONFIG", "SET", "cluster-replica-no-failover", "yes"])
        let refreshes = client.topologyRefreshCount
        await cluster.kill(victim)
        try await cluster.waitUntil("the client refreshed after the crash and is quiet") {
            guard client.topologyRefreshCount > refreshes else { return false }
            return await client.topologyManager.isQuiet
        }
        _ = try await cluster.command(replica, ["CLUSTER", "FAILOVER", "FORCE"])
        _ = try await cluster.command(replica, ["CONFIG", "SET", "cluster-replica-no-failover", "no"])
        try await cluster.waitForFailover(of: victim)
        #expect(client.topology.map { SlotMap($0).primary(forSlot: HashSlot.of(key)) } == victim.address)
        // One call: the connection to the dead node is refused (nothing was sent), the topology
        // is refreshed, and the request goes to the replica that took over.
        #expect(try await client.get(key) == "kept")
        #expect(client.topology.map { SlotMap($0).primary(forSlot: HashSlot.of(key)) } == replica.address)
        await client.close()
    }
}

extension Sequence where Element: Sendable {
    /// How many elements pass an async test.
    func asyncCount(_ test: (Element) async throws -> Bool) async rethrows -> Int {
        var count = 0
        for element in self where try await test(element) { count += 1 }
        return count
    }
}
