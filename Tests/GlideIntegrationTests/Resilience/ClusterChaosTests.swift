import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// Cluster chaos: a 3+3 cluster under 50 writers whose writes count only once `WAIT 1` says a
/// replica holds them, while faults follow each other in random order: a primary SIGKILLed (its
/// replica takes over) and restarted, `CLUSTER FAILOVER`, a replica SIGKILLed and restarted, a
/// slot migrated the legacy way (`SETSLOT` and `MIGRATE`), and one migrated atomically (Valkey
/// 9's `CLUSTER MIGRATESLOTS`; the legacy way again on older servers). Afterwards every
/// acknowledged write must be there, and no reply may ever have reached another caller.
///
/// A soak-like test: `make soak` runs it, for `GLIDE_CHAOS_SECONDS` (60 by default; the soak's
/// length when `make soak` sets it), not `make test`. With `GLIDE_SOAK_CSV` set it is sampled and
/// held to the soak's targets as `ChaosTests` is; the latency sampled is a whole acknowledged
/// write's, `SET` and `WAIT`.
@Suite(.timeLimit(.minutes(35))) struct ClusterChaosTests {
    static let tasks = 50

    /// A fault that could not be made or recovered from, with which one it was.
    struct FaultFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// The faults, one of each per round.
    enum Fault: String, CaseIterable {
        case primaryKilled = "primary SIGKILL + restart"
        case failover = "CLUSTER FAILOVER"
        case replicaKilled = "replica SIGKILL + restart"
        case legacyMigration = "slot migration (SETSLOT/MIGRATE)"
        case atomicMigration = "atomic slot migration (MIGRATESLOTS)"
    }

    @Test func clusterFaultsUnderLoadLoseNoAcknowledgedWriteAndMixUpNoReply() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["GLIDE_CHAOS_SECONDS"] ?? "") ?? 60
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000)
        defer { cluster.stop() }
        let atomic = try await cluster.serverVersion() >= ServerVersion("9.0")
        let client = try await cluster.client { $0.requestTimeout = .seconds(1) }
        let prefix = SharedServer.uniqueKey()
        let ledger = ChaosLedger(tasks: Self.tasks)
        let soakCSV = ProcessInfo.processInfo.environment["GLIDE_SOAK_CSV"]
        let sampler = soakCSV.map { _ in ResourceSampler() }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<Self.tasks {
                group.addTask { await Self.write(task, prefix: prefix, client: client, ledger: ledger, sampler: sampler) }
            }
            if let sampler { group.addTask { await ledger.sample(sampler, name: "cluster soak") } }
            // The writers stop however the faults end: a fault that throws must not leave the
            // group waiting for them.
            defer { ledger.stop.store(true, ordering: .relaxed) }
            let end = ContinuousClock.now + .seconds(seconds)
            var round: [Fault] = []
            while ContinuousClock.now < end {
                if round.isEmpty { round = Fault.allCases.shuffled() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...1000)))
                let fault = round.removeLast()
                let began = ContinuousClock.now
                do {
                    try await Self.inject(fault, cluster: cluster, atomic: atomic, ledger: ledger)
                } catch {
                    throw FaultFailed(description: "\(fault.rawValue), \(ContinuousClock.now - began) after it began: \(error)")
                }
                // Servers before 9.0 migrate the legacy way both times.
                ledger.faults.record((fault == .atomicMigration && !atomic ? Fault.legacyMigration : fault).rawValue)
            }
            ledger.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        // The last sample before the checker connects: its connections are not the writers'.
        if let sampler, let soakCSV { try ChaosLedger.finishSoak(sampler, csv: soakCSV) }
        // Every acknowledged write, read back by a fresh client.
        let checker = try await cluster.client { $0.requestTimeout = .seconds(10) }
        let lost = try await ledger.lostWrites(prefix: prefix, batch: 200) { keys in try await checker.mget(keys) }
        let (total, outcomes) = ledger.verdict(lost: lost)
        print(
            "cluster chaos \(seconds) s (\(elapsed) with the last fault), \(Self.tasks) tasks: \(total) writes acknowledged by WAIT 1, "
                + "\(lost.count) lost; outcomes \(outcomes); faults \(ledger.faults.counts.sorted { $0.key < $1.key })")
        #expect(total > 1000)
        let kinds = Fault.allCases.filter { atomic || $0 != .atomicMigration }.map(\.rawValue)
        #expect(kinds.allSatisfy { ledger.faults.counts[$0] != nil }, "every kind of fault happened: \(ledger.faults.counts)")
        await client.close()
        await checker.close()
    }

    /// One writer (see `ChaosLedger`): `SET`, then `WAIT 1` on the key's primary; a write counts
    /// as acknowledged once a replica holds it (otherwise the same n is written again). Every
    /// fifth acknowledged write is read back.
    static func write(_ task: Int, prefix: String, client: GlideClusterClient, ledger: ChaosLedger, sampler: ResourceSampler?) async {
        var next = 1
        while !ledger.stop.load(ordering: .relaxed) {
            do throws(GlideError) {
                let key = ChaosLedger.key(prefix, task: task, next)
                let began = ContinuousClock.now
                try await client.set(key, "\(task):\(next)")
                // The server waits at most 500 ms; the client allows that and its own time.
                let replicas =
                    try await client.customCommand(
                        ["WAIT", "1", "500"], route: .slotKey(BulkString(key), .primary),
                        timeout: .milliseconds(500) + TestTiming.bound(.milliseconds(500))
                    ).singleValue?.intValue ?? 0
                guard replicas >= 1 else {
                    ledger.outcomes.record("write not replicated within 500 ms")
                    continue
                }
                sampler?.record(ContinuousClock.now - began)
                ledger.acknowledged.withLock { $0[task] = next }
                ledger.outcomes.record("write acknowledged")
                let written = next
                next += 1
                if written % 5 == 0 {
                    let value = try await client.get(key)
                    ledger.outcomes.record(
                        value == "\(task):\(written)" ? "read ok" : "wrong reply: \(value ?? "nil") for \(task):\(written)")
                }
            } catch {
                // A server's error by its first words (CLUSTERDOWN, ERR WAIT cannot, …): which
                // ones reach callers is part of what this measures.
                let words = error.message.split(separator: " ").prefix(4).joined(separator: " ")
                ledger.outcomes.record(error.code == .server ? "server error \(words)" : error.code.description)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// Injects `fault` and returns once the cluster is whole again: every slot served, every node
    /// agreeing, every replica in sync (so the next kill can't take the only copy of a write).
    static func inject(_ fault: Fault, cluster: TestCluster, atomic: Bool, ledger: ChaosLedger) async throws {
        let primaries = try await cluster.primaries()
        let primary = try #require(primaries.randomElement())
        switch fault {
        case .primaryKilled:
            await cluster.kill(primary)
            try await cluster.waitForFailover(of: primary)
            try await cluster.restart(primary)
        case .failover:
            try await cluster.failover(to: try #require(try await cluster.replicas(of: primary).first))
        case .replicaKilled:
            let replica = try #require(try await cluster.replicas(of: primary).first)
            await cluster.kill(replica)
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.restart(replica)
        case .legacyMigration, .atomicMigration:
            let slot = UInt16.random(in: 0..<16384)
            let owner = try await cluster.primary(forSlot: slot)
            let target = try #require(primaries.filter { $0.id != owner.id }.randomElement())
            if fault == .atomicMigration && atomic {
                try await cluster.migrateSlotAtomically(slot, to: target)
                // Valkey 9.1 can leave the source's snapshot child behind after a migration that
                // succeeded (valkey-io/valkey#4546): the node then never forks again, so its next
                // migration and its replica's next full sync wait forever. The node is replaced
                // the way a crash would replace it, and the repair is counted.
                if try await !Self.forkEnds(on: owner, cluster: cluster) {
                    ledger.faults.record("repair: a leaked slot-migration child (valkey#4546), its node SIGKILLed + restarted")
                    await cluster.kill(owner)
                    try await cluster.waitForFailover(of: owner)
                    try await cluster.restart(owner)
                }
            } else {
                try await cluster.migrateSlot(slot, to: target)
            }
        }
        try await cluster.waitUntilConsistent()
        try await cluster.waitUntilReplicated()
    }

    /// Whether `node` reports no slot-migration child within 5 s.
    static func forkEnds(on node: TestCluster.Node, cluster: TestCluster) async throws -> Bool {
        let end = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < end {
            let persistence = try await cluster.command(node, ["INFO", "persistence"]).stringValue ?? ""
            if !persistence.contains("slot_migration_fork_in_progress:1") { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
