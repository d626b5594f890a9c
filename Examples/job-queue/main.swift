// A reliable job queue: a worker moves each job atomically from the queue into a processing list
// of its own (`BLMOVE`), does it, records it done, and only then takes it off its list. A worker
// that dies mid-job leaves the job on its list; a live worker that finds the dead one's heartbeat
// gone moves the job back to the queue. No job is lost, and a job that may have been done twice
// (its worker may have died after doing it, before acknowledging) is seen: every job moved back
// is counted.
//
// Usage:
//   job-queue host port produce QUEUE COUNT        queue COUNT jobs
//   job-queue host port work QUEUE NAME [DELAY_MS]  work until the queue stays empty for a second
//   job-queue host port report QUEUE               jobs done, and those moved back from a dead worker
// Add --cluster for a cluster client: every key of a queue shares its hash tag.
import Foundation
import Glide

struct Queue<Client: GlideCommandExecutor> {
    let client: Client
    let name: String

    var pending: String { "jobs:{\(name)}:pending" }
    var done: String { "jobs:{\(name)}:done" }
    var redelivered: String { "jobs:{\(name)}:redelivered" }
    var workers: String { "jobs:{\(name)}:workers" }
    func processing(_ worker: String) -> String { "jobs:{\(name)}:processing:\(worker)" }
    func heartbeat(_ worker: String) -> String { "jobs:{\(name)}:alive:\(worker)" }

    func produce(_ count: Int) async throws {
        _ = try await client.lpush(pending, (1...count).map { "job-\($0)" })
    }

    /// Says `worker` is alive for the next second.
    func beat(_ worker: String) async throws {
        try await client.set(heartbeat(worker), "1", expiry: .milliseconds(1000))
    }

    /// Moves the jobs of every worker whose heartbeat is gone back to the queue; how many.
    func recover(except me: String) async throws -> [String: Int] {
        var recovered: [String: Int] = [:]
        for worker in try await client.smembers(workers) where worker != me {
            guard try await client.exists([heartbeat(worker)]) == 0 else { continue }
            while let job = try await client.lmove(processing(worker), pending, from: .right, to: .right) {
                _ = try await client.execute(HINCRBY(redelivered, job, increment: 1))
                recovered[worker, default: 0] += 1
            }
        }
        return recovered
    }

    /// Works until the queue stays empty for a second: each job is taken onto the worker's list,
    /// done (recorded, after `delay`), and acknowledged (taken off the list).
    func work(as worker: String, delay: Duration) async throws {
        _ = try await client.sadd(workers, [worker])
        try await beat(worker)
        for (dead, count) in try await recover(except: worker).sorted(by: { $0.key < $1.key }) {
            print("\(worker) recovered \(count) job(s) of \(dead)")
        }
        while true {
            let job = try await client.execute(BLMOVE(pending, processing(worker), wherefrom: .right, whereto: .left, timeout: 1))
            guard let job = job?.string else {
                // Empty for a second: a dead worker's jobs may be waiting for its heartbeat to lapse.
                let recovered = try await recover(except: worker)
                for (dead, count) in recovered.sorted(by: { $0.key < $1.key }) { print("\(worker) recovered \(count) job(s) of \(dead)") }
                let othersHoldJobs = try await anyoneElseHoldsJobs(except: worker)
                if recovered.isEmpty && !othersHoldJobs { break }
                continue
            }
            try await beat(worker)
            if delay > .zero { try await Task.sleep(for: delay) }
            _ = try await client.sadd(done, [job])
            _ = try await client.lrem(processing(worker), count: 1, job)
            print("\(worker) did \(job)")
        }
    }

    /// Whether another worker still has jobs on its list (alive: it will finish them; dead: they
    /// come back once its heartbeat lapses).
    func anyoneElseHoldsJobs(except me: String) async throws -> Bool {
        for worker in try await client.smembers(workers) where worker != me {
            if try await client.llen(processing(worker)) > 0 { return true }
        }
        return false
    }

    func report() async throws {
        let done = try await client.smembers(done)
        let again = try await client.hgetall(redelivered, as: String.self).keys.sorted()
        print("done \(done.count) distinct jobs; pending \(try await client.llen(pending)); moved back from a dead worker: \(again)")
    }
}

func run<Client: GlideCommandExecutor>(_ client: Client, _ command: [String]) async throws {
    guard command.count >= 2 else { fatalError("usage: see the top of Examples/job-queue/main.swift") }
    let queue = Queue(client: client, name: command[1])
    switch command[0] {
    case "produce": try await queue.produce(Int(command[2]) ?? 10)
    case "work": try await queue.work(as: command[2], delay: .milliseconds(command.count > 3 ? Int(command[3]) ?? 0 : 0))
    case "report": try await queue.report()
    default: fatalError("unknown command \(command[0])")
    }
}

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--cluster" }.map { $0 }
let address = NodeAddress(host: arguments[0], port: Int(arguments[1]) ?? 6379)
// `VALKEY_REQUEST_TIMEOUT_MS` overrides the request timeout (the tests' sanitizer runs set it).
let timeout = ProcessInfo.processInfo.environment["VALKEY_REQUEST_TIMEOUT_MS"].flatMap { Int($0) }.map { Duration.milliseconds($0) }
let command = Array(arguments.dropFirst(2))
if CommandLine.arguments.contains("--cluster") {
    var configuration = GlideClusterClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClusterClient.create(configuration)
    try await run(client, command)
    await client.close()
} else {
    var configuration = GlideClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClient.create(configuration)
    try await run(client, command)
    await client.close()
}
