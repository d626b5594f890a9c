import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

@testable import GlideClient

/// Hedged reads against a real primary and two replicas, one of which the test stops for 30 ms
/// twice a second (`SIGSTOP`, `SIGCONT`).
@Suite(.timeLimit(.minutes(5))) struct HedgedReadTests {
    /// Reads by `tasks` tasks, each pausing 10 ms between reads, for `duration`: every read's
    /// latency, and how many came back with another key's value. Paced, so that a task stuck on
    /// the stopped replica is a share of the reads, as with callers that come at their own rate.
    static func readLatencies(
        keys: [String], tasks: Int = 16, duration: Duration, _ get: @escaping @Sendable (String) async throws -> String?
    ) async throws -> (latencies: [Duration], wrong: Int) {
        let clock = ContinuousClock()
        let end = clock.now + duration
        return try await withThrowingTaskGroup(of: ([Duration], Int).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var latencies: [Duration] = []
                    var wrong = 0
                    var index = task
                    while clock.now < end {
                        let key = keys[index % keys.count]
                        index += 1
                        let started = clock.now
                        let value = try await get(key)
                        latencies.append(clock.now - started)
                        if value != "value of \(key)" { wrong += 1 }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    return (latencies, wrong)
                }
            }
            var all: [Duration] = []
            var wrong = 0
            for try await (latencies, count) in group {
                all += latencies
                wrong += count
            }
            return (all.sorted(), wrong)
        }
    }

    /// Stops `server` for 30 ms twice a second until the task is cancelled.
    static func stall(_ server: TestServer) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(470))
                server.freeze()
                try? await Task.sleep(for: .milliseconds(30))
                server.thaw()
            }
        }
    }

    static func end(_ stalls: Task<Void, Never>, of server: TestServer) async {
        stalls.cancel()
        await stalls.value
        server.thaw()
    }

    static func quantile(_ sorted: [Duration], _ q: Double) -> Duration {
        sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }

    @Test func aStallingReplicaDoesNotSetTheTailAndHedgesStayWithinTheBudget() async throws {
        let set = try await TestReplicaSet.start(replicas: 2)
        defer { set.stop() }
        func client(hedged: Bool) async throws -> GlideClient {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: set.addresses).with {
                    $0.readFrom = .preferReplica
                    $0.requestTimeout = .seconds(2)
                    $0.hedgedReads = hedged ? HedgedReads(budget: 0.05, minimumDelay: .milliseconds(2)) : nil
                })
        }
        let plain = try await client(hedged: false)
        let hedging = try await client(hedged: true)
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<20).map { "\(prefix):\($0)" }
        for key in keys { try await plain.set(key, "value of \(key)") }
        _ = try await plain.customCommand(["WAIT", "2", "2000"])

        try await Self.compare(
            "standalone", keys: keys, stalling: set.replicas[0], hedger: try #require(hedging.core.hedger),
            plain: { try await plain.get($0) }, hedging: { try await hedging.get($0) })
        await plain.close()
        await hedging.close()
    }

    @Test func aClusterReadOnAStallingReplicaIsHedgedOnItsPrimary() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1)
        defer { cluster.stop() }
        func client(hedged: Bool) async throws -> GlideClusterClient {
            try await cluster.client {
                $0.readFrom = .preferReplica
                $0.requestTimeout = .seconds(2)
                $0.hedgedReads = hedged ? HedgedReads(budget: 0.05, minimumDelay: .milliseconds(2)) : nil
            }
        }
        let plain = try await client(hedged: false)
        let hedging = try await client(hedged: true)
        // One shard's keys: its one replica stalls, so a hedge goes to its primary.
        let prefix = "{\(SharedServer.uniqueKey())}"
        let keys = (0..<20).map { "\(prefix):\($0)" }
        for key in keys { try await plain.set(key, "value of \(key)") }
        let (_, replica) = try await cluster.writeReplicated(keys[0], "value of \(keys[0])", with: plain)
        try await Self.compare(
            "cluster", keys: keys, stalling: replica.server, hedger: try #require(hedging.core.hedger),
            plain: { try await plain.get($0) }, hedging: { try await hedging.get($0) })
        await plain.close()
        await hedging.close()
    }

    /// Both clients read `keys` with nothing stalled (so each measures the nodes' pace), then for
    /// 3 s each while `stalling` stops 30 ms twice a second; checks the tails and the budget.
    static func compare(
        _ label: String, keys: [String], stalling: TestServer, hedger: ReadHedger<EpollEventLoop, SocketConnector>,
        plain: @escaping @Sendable (String) async throws -> String?, hedging: @escaping @Sendable (String) async throws -> String?
    ) async throws {
        _ = try await readLatencies(keys: keys, duration: .milliseconds(500), plain)
        _ = try await readLatencies(keys: keys, duration: .milliseconds(500), hedging)
        let (readsBefore, hedgesBefore) = (hedger.reads.load(ordering: .relaxed), hedger.hedges.load(ordering: .relaxed))
        let stalls = stall(stalling)
        let unhedged = try await readLatencies(keys: keys, duration: .seconds(3), plain)
        let hedged = try await readLatencies(keys: keys, duration: .seconds(3), hedging)
        await end(stalls, of: stalling)

        let reads = hedger.reads.load(ordering: .relaxed) - readsBefore
        let hedges = hedger.hedges.load(ordering: .relaxed) - hedgesBefore
        let won = hedger.hedgesWon.load(ordering: .relaxed)
        let (p50, p99) = (quantile(hedged.latencies, 0.5), quantile(hedged.latencies, 0.99))
        let (plainP50, plainP99) = (quantile(unhedged.latencies, 0.5), quantile(unhedged.latencies, 0.99))
        print(
            "hedged reads (\(label)), one replica stopped 30 ms twice a second: p50 \(p50), p99 \(p99) hedged; "
                + "p50 \(plainP50), p99 \(plainP99) not; \(hedges) hedges for \(reads) reads (\(won) won)")
        // Every caller got its own key's value: a discarded reply reached no one.
        #expect(unhedged.wrong == 0 && hedged.wrong == 0)
        // The stalls set the plain client's tail; hedging takes them out of it.
        #expect(plainP99 >= .milliseconds(5), "the stalls did not show: p99 \(plainP99)")
        #expect(p99 * 2 <= plainP99, "hedged p99 \(p99) against \(plainP99)")
        #expect(won > 0)
        // The budget: 5 % of the reads watched, and the burst of 50.
        #expect(Double(hedges) <= Double(reads) * 0.05 + 50, "\(hedges) hedges for \(reads) reads")
    }
}
