// The failover workload (`-t failover`, bench line C3): mixed GET/SET on every shard of a cluster
// while one primary is killed, counted per second and per shard.
import Foundation
import Glide
import Synchronization

/// What the failover workload needs beyond the common options.
struct FailoverOptions {
    /// The victim primary's process, killed with SIGKILL (the caller started it).
    var pid: Int32
    /// The victim's client port: its keys are the failing shard's.
    var port: Int
    /// Seconds of steady load before the kill.
    var killAfter = 3
    /// Seconds of the whole run.
    var duration = 12
}

/// Runs the workload and prints, one line each: the ops/s of every second, the healthy shards'
/// ops/s of every second, their steady state and lowest second as a ratio to it, and how long
/// after the kill the failing shard's keys were served again.
///
/// Each task works on the keys of one shard only, so a task stuck on the failing shard never
/// takes a turn from the healthy ones: what the healthy shards' rate measures is the client.
func runFailover(_ client: GlideClusterClient, keys: [Bytes], value: Bytes, tasks: Int, failover: FailoverOptions) async throws {
    guard let topology = client.topology else { throw GlideError(.routing, "the client has no topology") }
    let map = SlotMap(topology)
    let primaries = topology.shards.compactMap { $0.primary?.address }.sorted { $0.port < $1.port }
    guard let victim = primaries.first(where: { $0.port == failover.port }) else {
        throw GlideError(.routing, "no primary of the cluster listens on port \(failover.port)")
    }
    var keysByShard: [[Bytes]] = primaries.map { _ in [] }
    for key in keys {
        guard let owner = map.primary(forSlot: HashSlot.of(key)), let shard = primaries.firstIndex(of: owner) else { continue }
        keysByShard[shard].append(key)
    }
    let victimShard = primaries.firstIndex(of: victim)!
    let start = nanoseconds()
    let end = start + UInt64(failover.duration) * 1_000_000_000
    let killAt = start + UInt64(failover.killAfter) * 1_000_000_000

    // When the victim is gone: its process has exited (a zombie until its parent reaps it) and
    // its sockets are closed. Requests that start after that measure the outage.
    let gone = KillTime()

    /// One task's counts: successes per second, and its first success after the kill.
    struct Counts: Sendable {
        var shard: Int
        var perSecond: [Int]
        var firstSuccessAfterKill: UInt64?
        var errors: Int
    }
    let results = try await withThrowingTaskGroup(of: Counts?.self) { group in
        group.addTask {
            try await Task.sleep(for: .nanoseconds(Int64(killAt - nanoseconds())))
            kill(failover.pid, SIGKILL)
            while let stat = try? String(contentsOfFile: "/proc/\(failover.pid)/stat", encoding: .utf8),
                !stat.contains(") Z ")
            {
                try await Task.sleep(for: .milliseconds(1))
            }
            gone.nanoseconds.store(nanoseconds(), ordering: .relaxed)
            return nil
        }
        for task in 0..<tasks {
            let shard = task % primaries.count
            let mine = keysByShard[shard]
            group.addTask {
                var counts = Counts(shard: shard, perSecond: Array(repeating: 0, count: failover.duration), errors: 0)
                var request = task
                while true {
                    let now = nanoseconds()
                    guard now < end else { break }
                    let key = mine[(request >> 1) % mine.count]
                    let startedAfterKill = now > gone.nanoseconds.load(ordering: .relaxed)
                    do {
                        if request & 1 == 0 { try await client.set(key, value) } else { _ = try await client.get(key, as: Bytes.self) }
                        let done = nanoseconds()
                        let second = Int((done - start) / 1_000_000_000)
                        if second < failover.duration { counts.perSecond[second] += 1 }
                        if startedAfterKill && counts.firstSuccessAfterKill == nil { counts.firstSuccessAfterKill = done }
                    } catch {
                        counts.errors += 1
                    }
                    request += tasks
                }
                return counts
            }
        }
        var all: [Counts] = []
        for try await counts in group { if let counts { all.append(counts) } }
        return all
    }

    var total = Array(repeating: 0, count: failover.duration)
    var healthy = Array(repeating: 0, count: failover.duration)
    var errors = 0
    var servedAgain: UInt64?
    for counts in results {
        for second in 0..<failover.duration {
            total[second] += counts.perSecond[second]
            if counts.shard != victimShard { healthy[second] += counts.perSecond[second] }
        }
        errors += counts.errors
        if counts.shard == victimShard, let first = counts.firstSuccessAfterKill {
            servedAgain = min(servedAgain ?? first, first)
        }
    }
    let killed = gone.nanoseconds.load(ordering: .relaxed)
    // Steady state: the seconds before the kill, without the first (connections warming up).
    let before = healthy[1..<failover.killAfter].sorted()
    let steady = Double(before[before.count / 2])
    let lowest = healthy[failover.killAfter...].map { Double($0) / steady }.min() ?? 0
    print("failover per-second ops/s: \(total.map(String.init).joined(separator: " "))")
    print("failover healthy-shard ops/s: \(healthy.map(String.init).joined(separator: " "))")
    print("failover healthy steady \(Int(steady)) ops/s, lowest second \(String(format: "%.2f", lowest))x")
    if let servedAgain {
        print("failover failed shard served again after \(String(format: "%.2f", Double(servedAgain - killed) / 1e9)) s, \(errors) errors")
    } else {
        print("failover failed shard not served again within \(failover.duration - failover.killAfter) s, \(errors) errors")
    }
}

/// When the victim was seen gone (`UInt64.max` until then), shared by the workload's tasks.
final class KillTime: Sendable {
    let nanoseconds = Atomic<UInt64>(.max)
}
