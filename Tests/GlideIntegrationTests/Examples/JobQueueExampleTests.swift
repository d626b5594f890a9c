import Foundation
import Glide
import GlideTestSupport
import Testing

/// `Examples/job-queue` (`make job-queue-demo`) against real servers: a worker SIGKILLed mid-job
/// loses nothing; the live worker recovers its job once its heartbeat lapses, and the job that
/// may have been done twice is reported.
@Suite(.timeLimit(.minutes(5))) struct JobQueueExampleTests {
    static func killAWorkerMidJobAndFinishWithAnother(port: Int, cluster: Bool, client: some GlideCommandExecutor) async throws {
        let example = try ServerBinaries.product("job-queue")
        let queue = "q-\(UUID().uuidString.prefix(8))"
        let common = ["127.0.0.1", String(port)] + (cluster ? ["--cluster"] : [])
        _ = try await GlideCLITests.run(example, common + ["produce", queue, "30"])
        // Worker A takes 100 ms a job; it is killed while it holds one, after it did a few.
        let workerA = try ChildProcess.spawn(example, common + ["work", queue, "worker-a", "100"])
        defer { workerA.signal(SIGKILL) }
        // Caught mid-job: stopped (SIGSTOP) while the server shows it holding one, after it did
        // three; what it had written before it stopped has landed when the server is asked again.
        try await Polling.waitUntil("worker A is stopped mid-job after 3 jobs", timeout: .seconds(30), interval: .milliseconds(5)) {
            let done = (try? await client.execute(SCARD("jobs:{\(queue)}:done"))) ?? 0
            guard done >= 3, (try? await client.llen("jobs:{\(queue)}:processing:worker-a")) == 1 else { return false }
            workerA.signal(SIGSTOP)
            while ChildProcessTests.state(of: workerA.pid) != "T" { try? await Task.sleep(for: .milliseconds(1)) }
            try? await Task.sleep(for: .milliseconds(20))
            if (try? await client.llen("jobs:{\(queue)}:processing:worker-a")) == 1 { return true }
            workerA.signal(SIGCONT)
            return false
        }
        #expect(workerA.signal(SIGKILL))
        let status = try await offThePool { workerA.waitForExit() }
        #expect(status == 128 + SIGKILL)
        let held: [String] = try await client.lrange("jobs:{\(queue)}:processing:worker-a", 0, -1)
        #expect(held.count == 1)
        // Worker B does the rest, and A's job once A's heartbeat has lapsed.
        let output = try await GlideCLITests.run(example, common + ["work", queue, "worker-b"])
        #expect(output.contains("worker-b recovered 1 job(s) of worker-a"), "\(output)")
        #expect(output.contains("worker-b did \(held.first ?? "?")\n"), "\(output)")
        let report = try await GlideCLITests.run(example, common + ["report", queue])
        #expect(report == "done 30 distinct jobs; pending 0; moved back from a dead worker: [\"\(held.first ?? "?")\"]\n", "\(report)")
    }

    @Test func aWorkerKilledMidJobLosesNothingAndItsJobIsSeenTwice() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        try await Self.killAWorkerMidJobAndFinishWithAnother(port: server.port, cluster: false, client: client)
        await client.close()
    }

    @Test func theSameQueueWorksOnACluster() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        try await Self.killAWorkerMidJobAndFinishWithAnother(port: cluster.nodes[0].server.port, cluster: true, client: client)
        await client.close()
    }
}
