import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// A minute of random faults under load, on a server that fsyncs every write (AOF, `always`):
/// afterwards, every write the client acknowledged must be there, and no reply may ever have
/// reached another caller. The client reaches the server through a `FaultProxy`, so network faults
/// (a black hole, latency, resets, a peer that vanishes) take turns with the server's (`CLIENT
/// KILL`, SIGSTOP, SIGKILL and a restart, `DEBUG SLEEP`). `GLIDE_CHAOS_SECONDS` changes the length
/// (60 by default).
///
/// As a soak (`make soak`, which runs it alone in its process and sets `GLIDE_SOAK_CSV`), it also
/// samples the process every 10 s (resident memory, descriptors, threads, the writes' p99
/// latency), writes the samples to that CSV, and holds them to the soak's targets after the first
/// minute's warm-up (`ChaosLedger.finishSoak`). The proxy's own threads and descriptors are left
/// out of the counts.
// Its limit is the soak's: `make soak` runs it for 30 minutes.
@Suite(.timeLimit(.minutes(35))) struct ChaosTests {
    static let tasks = 50

    /// The faults, one of each per round.
    enum Fault: String, CaseIterable {
        case clientKill = "CLIENT KILL"
        case stopped = "SIGSTOP"
        case killed = "SIGKILL + restart"
        case sleeping = "DEBUG SLEEP"
        case blackhole = "black hole"
        case latency = "latency with jitter"
        case reset = "connections reset"
        case vanished = "peer vanished"
    }

    @Test func faultsUnderLoadLoseNoAcknowledgedWriteAndMixUpNoReply() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["GLIDE_CHAOS_SECONDS"] ?? "") ?? 60
        // A small rewrite threshold keeps the append-only file, which a restart loads, short.
        let server = try await TestServer.startValkey([
            "--appendonly", "yes", "--appendfsync", "always", "--auto-aof-rewrite-min-size", "8mb", "--enable-debug-command", "yes",
        ])
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try await GlideClient.create(
            server.configuration {
                $0.addresses = [proxy.address]
                $0.requestTimeout = .milliseconds(500)
                $0.clientName = "chaos"
            })
        let admin = try await server.client { $0.requestTimeout = .seconds(5) }
        let prefix = SharedServer.uniqueKey()
        let ledger = ChaosLedger(tasks: Self.tasks)
        let soakCSV = ProcessInfo.processInfo.environment["GLIDE_SOAK_CSV"]
        let sampler = soakCSV.map { _ in ResourceSampler() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<Self.tasks {
                group.addTask { await Self.write(task, prefix: prefix, client: client, ledger: ledger, sampler: sampler) }
            }
            if let sampler {
                group.addTask { await ledger.sample(sampler, name: "soak", proxy: proxy) }
            }
            // The writers stop however the faults end: a fault that throws must not leave the
            // group waiting for them.
            defer { ledger.stop.store(true, ordering: .relaxed) }
            let end = ContinuousClock.now + .seconds(seconds)
            // Every kind of fault in each round, in a random order, at random intervals.
            var round: [Fault] = []
            while ContinuousClock.now < end {
                if round.isEmpty { round = Fault.allCases.shuffled() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 500...1200)))
                let fault = round.removeLast()
                try await Self.inject(fault, server: server, proxy: proxy, admin: admin)
                ledger.faults.record(fault.rawValue)
            }
            ledger.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        // The last sample before the checker connects: its connection is not the writers'.
        if let sampler, let soakCSV { try ChaosLedger.finishSoak(sampler, csv: soakCSV, proxy: proxy) }
        // Every acknowledged write, read back over a fresh connection.
        let checker = try await server.client { $0.requestTimeout = .seconds(10) }
        let lost = try await ledger.lostWrites(prefix: prefix, batch: 500) { keys in try await checker.mget(keys) }
        let (total, outcomes) = ledger.verdict(lost: lost)
        print(
            "chaos \(seconds) s, \(Self.tasks) tasks: \(total) acknowledged writes, \(lost.count) lost; "
                + "outcomes \(outcomes); faults \(ledger.faults.counts.sorted { $0.key < $1.key })")
        #expect(total > 1000)
        #expect(ledger.faults.counts.count == Fault.allCases.count, "every kind of fault happened: \(ledger.faults.counts)")
        await client.close()
        await admin.close()
        await checker.close()
    }

    /// One writer (see `ChaosLedger`); every fifth write, its key is read back.
    static func write(_ task: Int, prefix: String, client: GlideClient, ledger: ChaosLedger, sampler: ResourceSampler?) async {
        var next = 1
        while !ledger.stop.load(ordering: .relaxed) {
            do {
                let key = ChaosLedger.key(prefix, task: task, next)
                let started = ContinuousClock.now
                try await client.set(key, "\(task):\(next)")
                sampler?.record(ContinuousClock.now - started)
                ledger.acknowledged.withLock { $0[task] = next }
                ledger.outcomes.record("write ok")
                let written = next
                next += 1
                if written % 5 == 0 {
                    let value = try await client.get(key)
                    ledger.outcomes.record(
                        value == "\(task):\(written)" ? "read ok" : "wrong reply: \(value ?? "nil") for \(task):\(written)")
                }
            } catch {
                ledger.outcomes.record(error.code.description)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// Injects `fault` and ends it: the server's faults as the resilience tests make them, the
    /// network's through the proxy. A vanished peer is a black hole longer than the client's
    /// heartbeat and stale-reply threshold, so the client gives its connection up unprompted.
    static func inject(_ fault: Fault, server: TestServer, proxy: FaultProxy, admin: GlideClient) async throws {
        switch fault {
        case .clientKill:
            _ = try? await admin.customCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        case .stopped:
            server.freeze()
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
            server.thaw()
        case .killed:
            await server.kill()
            try await server.restart()
        case .sleeping:
            _ = try? await admin.customCommand(["DEBUG", "SLEEP", String(Double(Int.random(in: 3...8)) / 10)])
        case .blackhole, .vanished:
            proxy.set(.blackhole)
            try await Task.sleep(for: fault == .vanished ? .seconds(5) : .milliseconds(Int.random(in: 300...1200)))
            proxy.set(.pass)
        case .latency:
            proxy.set(.latency(.milliseconds(20), jitter: .milliseconds(15)))
            try await Task.sleep(for: .milliseconds(Int.random(in: 1000...2000)))
            proxy.set(.pass)
        case .reset:
            proxy.resetAll()
        }
    }
}
