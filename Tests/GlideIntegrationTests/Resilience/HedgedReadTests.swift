import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

@testable import GlideClient

/// Hedged reads against real servers with one replica stopped (`SIGSTOP`): reads that go to it are
/// answered by the hedge on another node, a read without hedging waits out its timeout there, and
/// the stopped node's late replies reach no one. The tail-latency figures with a replica that
/// stalls now and then are `make bench`'s H line.
@Suite(.timeLimit(.minutes(5))) struct HedgedReadTests {
    /// 4 sequential reads through `plain`, then 40 through `hedging`, while `stopped` is stopped
    /// (both clients without heartbeats, so neither gives the node up meanwhile), then checks:
    /// every hedged read answered with its own key's value, some by their hedge; the plain client's
    /// reads that went to the stopped node failed or took its whole timeout; within the budget.
    static func compare(
        keys: [String], stopped: TestServer, onlyNode: Bool, hedger: ReadHedger<EpollEventLoop, SocketConnector>, plainTimeout: Duration,
        plain: @escaping @Sendable (String) async throws -> String?, hedging: @escaping @Sendable (String) async throws -> String?
    ) async throws {
        // Both measure the nodes' pace first, nothing stopped. The plain client's 300 ms timeout
        // may expire on a loaded machine: a typed timeout, never another key's value.
        for key in keys {
            try await Self.expectOwnValueOrTimeout(key, plain)
            #expect(try await hedging(key) == "value of \(key)")
        }
        let (readsBefore, hedgesBefore, wonBefore) = (
            hedger.reads.load(ordering: .relaxed), hedger.hedges.load(ordering: .relaxed), hedger.hedgesWon.load(ordering: .relaxed)
        )
        stopped.freeze()
        // Without hedging, the reads that go to the stopped node wait out their timeout. First,
        // and few, so the plain client's connection there is not yet given up as dead (its oldest
        // reply 2 s overdue), which would send its reads elsewhere.
        var plainStuck = 0
        for index in 0..<4 {
            let key = keys[index % keys.count]
            let started = ContinuousClock.now
            do {
                _ = try await plain(key)
                if ContinuousClock.now - started >= plainTimeout { plainStuck += 1 }
            } catch let error as GlideError where error.code == .timeout {
                plainStuck += 1
            }
        }
        var hedgedWrong = 0
        var slowest = Duration.zero
        for index in 0..<40 {
            let key = keys[index % keys.count]
            let started = ContinuousClock.now
            if try await hedging(key) != "value of \(key)" { hedgedWrong += 1 }
            slowest = max(slowest, ContinuousClock.now - started)
        }
        stopped.thaw()
        let reads = hedger.reads.load(ordering: .relaxed) - readsBefore
        let hedges = hedger.hedges.load(ordering: .relaxed) - hedgesBefore
        let won = hedger.hedgesWon.load(ordering: .relaxed) - wonBefore
        print(
            "hedged reads with a replica stopped: 40 reads, \(hedges) hedged, \(won) answered by the hedge, slowest \(slowest); "
                + "without hedging \(plainStuck) of 4 waited out the \(plainTimeout) timeout")
        #expect(hedgedWrong == 0)
        // The reads that go to the stopped node are hedged, and their hedges answer: about half
        // with two replicas read in turn, all of them when it is the only replica.
        #expect(won >= 10 && (onlyNode || won < 40) && hedges >= won, "\(won) of 40 answered by the hedge")
        #expect(plainStuck > 0)
        // The budget: 5 % of the reads watched, and the burst of 50.
        #expect(Double(hedges) <= Double(reads) * 0.05 + 50, "\(hedges) hedges for \(reads) reads")
        // The stopped node's late replies, read once it runs again, reach no one: the next reads
        // of every key answer with that key's value.
        for key in keys {
            #expect(try await hedging(key) == "value of \(key)")
            try await Self.expectOwnValueOrTimeout(key, plain)
        }
    }

    /// Reads `key` through `read`: its own value, or a typed timeout.
    static func expectOwnValueOrTimeout(_ key: String, _ read: @Sendable (String) async throws -> String?) async throws {
        do {
            #expect(try await read(key) == "value of \(key)")
        } catch let error as GlideError where error.code == .timeout || error.code == .connectionFailed {
            return
        }
    }

    @Test func aReadOnAStoppedReplicaIsAnsweredByItsHedge() async throws {
        let set = try await TestReplicaSet.start(replicas: 2)
        defer { set.stop() }
        func client(hedged: Bool) async throws -> GlideClient {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: set.addresses).with {
                    $0.readFrom = .preferReplica
                    $0.heartbeatInterval = nil
                    $0.requestTimeout = hedged ? .seconds(5) : .milliseconds(300)
                    $0.hedgedReads = hedged ? HedgedReads() : nil
                })
        }
        let plain = try await client(hedged: false)
        let hedging = try await client(hedged: true)
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<10).map { "\(prefix):\($0)" }
        for key in keys { try await hedging.set(key, "value of \(key)") }
        _ = try await hedging.customCommand(["WAIT", "2", "2000"])
        try await Self.compare(
            keys: keys, stopped: set.replicas[0], onlyNode: false, hedger: try #require(hedging.core.hedger),
            plainTimeout: .milliseconds(300),
            plain: { try await plain.get($0) }, hedging: { try await hedging.get($0) })
        await plain.close()
        await hedging.close()
    }

    @Test func aClusterReadOnAStoppedReplicaIsAnsweredByItsPrimary() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1)
        defer { cluster.stop() }
        func client(hedged: Bool) async throws -> GlideClusterClient {
            try await cluster.client {
                $0.readFrom = .preferReplica
                $0.heartbeatInterval = nil
                $0.requestTimeout = hedged ? .seconds(5) : .milliseconds(300)
                $0.hedgedReads = hedged ? HedgedReads() : nil
            }
        }
        let plain = try await client(hedged: false)
        let hedging = try await client(hedged: true)
        // One shard's keys: its one replica is stopped, so a hedge goes to its primary.
        let prefix = "{\(SharedServer.uniqueKey())}"
        let keys = (0..<10).map { "\(prefix):\($0)" }
        for key in keys { try await hedging.set(key, "value of \(key)") }
        let (_, replica) = try await cluster.writeReplicated(keys[0], "value of \(keys[0])", with: hedging)
        try await Self.compare(
            keys: keys, stopped: replica.server, onlyNode: true, hedger: try #require(hedging.core.hedger),
            plainTimeout: .milliseconds(300),
            plain: { try await plain.get($0) }, hedging: { try await hedging.get($0) })
        await plain.close()
        await hedging.close()
    }
}
