import Foundation
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// What the writer tasks and the fault loop of a chaos run record, and the checks made of it
/// afterwards: no acknowledged write lost, no reply to another caller, and, as a soak, the
/// process's resources flat.
///
/// Each task writes `"task:n"` for n = 1, 2, …, the next n only once this one is acknowledged
/// (a failed write is tried again with the same n). The n-th write goes to key `n % keysPerTask`
/// of the task's, so the data set, and the append-only file a restarted server loads, stays the
/// same size however long the run is.
final class ChaosLedger: Sendable {
    /// Keys per task.
    static let keysPerTask = 200

    /// For each task, the highest n it wrote and had acknowledged.
    let acknowledged: Lock<[Int]>
    let outcomes = Tally()
    let faults = Tally()
    /// Set when the writers must stop.
    let stop = Atomic<Bool>(false)

    init(tasks: Int) { acknowledged = Lock([Int](repeating: 0, count: tasks)) }

    /// The key of task `task`'s n-th write.
    static func key(_ prefix: String, task: Int, _ n: Int) -> String { "\(prefix):\(task):\(n % keysPerTask)" }

    /// The acknowledged writes that `read` doesn't give back. Each key of a task must hold the
    /// last acknowledged write to it, or the task's one write in flight when it stopped (tried,
    /// perhaps applied, not acknowledged); an earlier value is a lost write. Reads `batch` keys at
    /// a time.
    func lostWrites(prefix: String, batch: Int, read: ([String]) async throws -> [String?]) async throws -> [String] {
        var lost: [String] = []
        let keys = Self.keysPerTask
        for (task, highest) in acknowledged.withLock({ $0 }).enumerated() where highest > 0 {
            // For each key, the last acknowledged n that went there (n ≥ 1, n ≤ highest).
            let expected = (0..<keys).compactMap { slot -> (slot: Int, n: Int)? in
                let n = highest - ((highest - slot) % keys + keys) % keys
                return n >= 1 ? (slot, n) : nil
            }
            for start in stride(from: 0, to: expected.count, by: batch) {
                let part = expected[start..<min(expected.count, start + batch)]
                let values = try await read(part.map { Self.key(prefix, task: task, $0.n) })
                for ((slot, n), value) in zip(part, values) {
                    let inFlight = (highest + 1) % keys == slot && value == "\(task):\(highest + 1)"
                    if value != "\(task):\(n)" && !inFlight { lost.append("\(task):\(n) -> \(value ?? "nil")") }
                }
            }
        }
        return lost
    }

    /// Expects no lost write among `lost` and no reply to the wrong caller among the outcomes;
    /// returns the acknowledged writes and the outcomes, for the run's line.
    func verdict(lost: [String]) -> (acknowledged: Int, outcomes: [(key: String, value: Int)]) {
        let outcomes = self.outcomes.counts
        #expect(lost.isEmpty, "\(lost.prefix(10))")
        #expect(!outcomes.keys.contains { $0.hasPrefix("wrong") }, "\(outcomes)")
        return (acknowledged.withLock { $0 }.reduce(0, +), outcomes.sorted { $0.key < $1.key })
    }

    /// Samples the process every 10 s until the writers stop, printing each sample under `name`;
    /// `proxy`'s threads and descriptors are not the client's.
    func sample(_ sampler: ResourceSampler, name: String, proxy: FaultProxy? = nil) async {
        while !stop.load(ordering: .relaxed) {
            let sample = Self.sample(sampler, proxy: proxy)
            print(
                "\(name) \(Int(sample.seconds)) s: rss \(sample.residentKiB) KiB, \(sample.descriptors) descriptors, \(sample.threads) threads, p99 \(sample.p99Milliseconds) ms over \(sample.requests) writes"
            )
            // Ends within 100 ms of the writers.
            for _ in 0..<100 where !stop.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(100)) }
        }
    }

    /// A sample of the process without `proxy`'s threads and descriptors.
    @discardableResult
    static func sample(_ sampler: ResourceSampler, proxy: FaultProxy?) -> ResourceSampler.Sample {
        sampler.sample(
            excludedThreads: proxy.map { _ in FaultProxy.threadName }, excludedDescriptors: proxy?.descriptorCount ?? 0)
    }

    /// Takes the last sample, writes every sample to `csv`, and holds them to the soak's targets
    /// after a minute's warm-up: resident memory grown by at most 5%, and descriptors and threads
    /// flat (within what a reconnection in progress holds). A run shorter than two minutes is
    /// checked from its first sample, for descriptors and threads only.
    static func finishSoak(_ sampler: ResourceSampler, csv: String, proxy: FaultProxy? = nil) throws {
        sample(sampler, proxy: proxy)
        try sampler.csv.write(toFile: csv, atomically: true, encoding: .utf8)
        let samples = sampler.all
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
}
