import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// A minute of random faults under load, on a server that fsyncs every write (AOF, `always`):
/// afterwards, every write the client acknowledged must be there, and no reply may ever have
/// reached another caller. `GLIDE_CHAOS_SECONDS` changes the length (60 by default).
///
/// As a soak (`make soak`, which runs it alone in its process and sets `GLIDE_SOAK_CSV`), it also
/// samples the process every 10 s (resident memory, descriptors, threads, the writes' p99
/// latency), writes the samples to that CSV, and holds them to the soak's targets after the first
/// minute's warm-up: memory grown by at most 5%, descriptors and threads flat.
// Its limit is the soak's: `make soak` runs it for 30 minutes.
@Suite(.timeLimit(.minutes(35))) struct ChaosTests {
    /// What the writer tasks and the fault loop record.
    final class Ledger: Sendable {
        /// For each task, the highest index it wrote and the server acknowledged.
        let acknowledged: Lock<[Int]>
        let outcomes = Tally()
        let faults = Tally()
        /// Set when the writers must stop.
        let stop = Atomic<Bool>(false)

        init(tasks: Int) { acknowledged = Lock([Int](repeating: 0, count: tasks)) }

        /// The acknowledged writes that `read` doesn't give back: `prefix:task:n` must hold
        /// `task:n` for every n up to the task's highest acknowledged one. Reads `batch` keys at
        /// a time.
        func lostWrites(prefix: String, batch: Int, read: ([String]) async throws -> [String?]) async throws -> [String] {
            var lost: [String] = []
            for (task, highest) in acknowledged.withLock({ $0 }).enumerated() where highest > 0 {
                for start in stride(from: 1, through: highest, by: batch) {
                    let indices = Array(start...min(highest, start + batch - 1))
                    let values = try await read(indices.map { "\(prefix):\(task):\($0)" })
                    for (index, value) in zip(indices, values) where value != "\(task):\(index)" {
                        lost.append("\(task):\(index) -> \(value ?? "nil")")
                    }
                }
            }
            return lost
        }

        /// Expects no lost write among `lost` and no reply to the wrong caller among the
        /// outcomes; returns the acknowledged writes and the outcomes, for the run's line.
        func verdict(lost: [String]) -> (acknowledged: Int, outcomes: [(key: String, value: Int)]) {
            let outcomes = self.outcomes.counts
            #expect(lost.isEmpty, "\(lost.prefix(10))")
            #expect(!outcomes.keys.contains { $0.hasPrefix("wrong") }, "\(outcomes)")
            return (acknowledged.withLock { $0 }.reduce(0, +), outcomes.sorted { $0.key < $1.key })
        }
    }

    static let tasks = 50

    @Test func faultsUnderLoadLoseNoAcknowledgedWriteAndMixUpNoReply() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["GLIDE_CHAOS_SECONDS"] ?? "") ?? 60
        let server = try await TestServer.startValkey(["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes"])
        defer { server.stop() }
        let client = try await server.client {
            $0.requestTimeout = .milliseconds(500)
            $0.clientName = "chaos"
        }
        let admin = try await server.client { $0.requestTimeout = .seconds(5) }
        let prefix = SharedServer.uniqueKey()
        let ledger = Ledger(tasks: Self.tasks)
        let soakCSV = ProcessInfo.processInfo.environment["GLIDE_SOAK_CSV"]
        let sampler = soakCSV.map { _ in ResourceSampler() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<Self.tasks {
                group.addTask { await Self.write(task, prefix: prefix, client: client, ledger: ledger, sampler: sampler) }
            }
            if let sampler {
                group.addTask {
                    while !ledger.stop.load(ordering: .relaxed) {
                        let sample = sampler.sample()
                        print(
                            "soak \(Int(sample.seconds)) s: rss \(sample.residentKiB) KiB, \(sample.descriptors) descriptors, \(sample.threads) threads, p99 \(sample.p99Milliseconds) ms over \(sample.requests) writes"
                        )
                        for _ in 0..<100 where !ledger.stop.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(100)) }
                    }
                }
            }
            let end = ContinuousClock.now + .seconds(seconds)
            // Every kind of fault in each round of four, in a random order, at random intervals.
            var round: [Int] = []
            while ContinuousClock.now < end {
                if round.isEmpty { round = [0, 1, 2, 3].shuffled() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 500...1200)))
                try await Self.inject(fault: round.removeLast(), server: server, admin: admin, ledger: ledger)
            }
            ledger.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        // Every acknowledged write, read back over a fresh connection.
        let checker = try await server.client { $0.requestTimeout = .seconds(10) }
        let lost = try await ledger.lostWrites(prefix: prefix, batch: 500) { keys in try await checker.mget(keys) }
        let (total, outcomes) = ledger.verdict(lost: lost)
        print(
            "chaos \(seconds) s, \(Self.tasks) tasks: \(total) acknowledged writes, \(lost.count) lost; "
                + "outcomes \(outcomes); faults \(ledger.faults.counts.sorted { $0.key < $1.key })")
        #expect(total > 1000)
        #expect(ledger.faults.counts.count == 4, "every kind of fault happened: \(ledger.faults.counts)")
        if let sampler, let soakCSV {
            sampler.sample()
            try sampler.csv.write(toFile: soakCSV, atomically: true, encoding: .utf8)
            Self.checkSoakTargets(sampler.all)
        }
        await client.close()
        await admin.close()
        await checker.close()
    }

    /// One writer: `SET prefix:task:n "task:n"` for n = 1, 2, …, the next n only once the server
    /// acknowledged this one (a failed write is tried again with the same n); every fifth write,
    /// its last acknowledged key is read back.
    static func write(_ task: Int, prefix: String, client: GlideClient, ledger: Ledger, sampler: ResourceSampler?) async {
        var next = 1
        while !ledger.stop.load(ordering: .relaxed) {
            do {
                let started = ContinuousClock.now
                try await client.set("\(prefix):\(task):\(next)", "\(task):\(next)")
                sampler?.record(ContinuousClock.now - started)
                ledger.acknowledged.withLock { $0[task] = next }
                ledger.outcomes.record("write ok")
                next += 1
                if next % 5 == 0 {
                    let last = next - 1
                    let value = try await client.get("\(prefix):\(task):\(last)")
                    ledger.outcomes.record(value == "\(task):\(last)" ? "read ok" : "wrong reply: \(value ?? "nil") for \(task):\(last)")
                }
            } catch {
                ledger.outcomes.record(error.code.description)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// The soak's targets, after a minute's warm-up: resident memory grown by at most 5%, and
    /// descriptors and threads flat (within what a reconnection in progress holds). A run shorter
    /// than two minutes is checked from its first sample, for descriptors and threads only.
    static func checkSoakTargets(_ samples: [ResourceSampler.Sample]) {
        let warm = samples.filter { $0.seconds >= 60 }
        let steady = warm.count >= 2 ? warm : samples
        guard let first = steady.first, let last = steady.last else { return }
        let descriptors = steady.map(\.descriptors)
        let threads = steady.map(\.threads)
        #expect(descriptors.max()! - descriptors.min()! <= 8, "descriptors \(descriptors)")
        #expect(threads.max()! - threads.min()! <= 4, "threads \(threads)")
        if warm.count >= 2 {
            #expect(Double(last.residentKiB) <= Double(first.residentKiB) * 1.05, "resident KiB \(steady.map(\.residentKiB))")
        }
    }

    /// Injects fault `kind`: kill the client's connections, freeze the server, crash and restart
    /// it on its port, or make it sleep on a command.
    static func inject(fault kind: Int, server: TestServer, admin: GlideClient, ledger: Ledger) async throws {
        switch kind {
        case 0:
            _ = try? await admin.customCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
            ledger.faults.record("CLIENT KILL")
        case 1:
            server.freeze()
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
            server.thaw()
            ledger.faults.record("SIGSTOP")
        case 2:
            await server.kill()
            try await server.restart()
            ledger.faults.record("SIGKILL + restart")
        default:
            _ = try? await admin.customCommand(["DEBUG", "SLEEP", String(Double(Int.random(in: 3...8)) / 10)])
            ledger.faults.record("DEBUG SLEEP")
        }
    }
}
