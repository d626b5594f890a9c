import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization

/// Tasks that each write their own key (`task-<n>-<attempt>`) and read it back until told to
/// stop, through either client: what every request met, and how many succeeded on each lane (a
/// lane is a group of tasks, such as the tasks whose keys one cluster shard serves).
final class FaultLoad: Sendable {
    let stop = Atomic<Bool>(false)
    let successes = Atomic<Int>(0)
    let wrongReplies = Lock<[String]>([])
    let errors = Lock<[GlideError.Code: Int]>([:])
    /// Successes by lane.
    let laneSuccesses: Lock<[Int]>
    /// When a request first succeeded after `markHeal()` on each lane, in nanoseconds of the
    /// monotonic clock; 0 while none has.
    let firstSuccessAfterHeal: Lock<[UInt64]>
    let healedAt = Atomic<UInt64>(0)

    init(lanes: Int = 1) {
        laneSuccesses = Lock([Int](repeating: 0, count: lanes))
        firstSuccessAfterHeal = Lock([UInt64](repeating: 0, count: lanes))
    }

    func markHeal() { healedAt.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing) }

    /// How long after the heal the first request of `lane` succeeded; `nil` while none has.
    func recovery(lane: Int = 0) -> Duration? {
        let success = firstSuccessAfterHeal.withLock { $0[lane] }
        return success == 0 ? nil : .nanoseconds(Int64(success) - Int64(healedAt.load(ordering: .acquiring)))
    }

    /// Marks the heal (the fault just ended) and waits until a request of `lane` succeeds after
    /// it; returns how long after the heal that was.
    func backAfterHeal(_ what: String, lane: Int = 0, timeout: Duration = .seconds(10)) async throws -> Duration {
        markHeal()
        try await Polling.waitUntil(what, timeout: timeout, interval: .milliseconds(5)) { self.recovery(lane: lane) != nil }
        return recovery(lane: lane)!
    }

    /// Tells the tasks to stop and waits until `running`, the task `run` returned, has ended.
    func finish(_ running: Task<Void, Never>) async {
        stop.store(true, ordering: .relaxed)
        await running.value
    }

    /// The successes of each lane so far.
    var perLane: [Int] { laneSuccesses.withLock { $0 } }

    /// Ten tasks on one lane through a standalone client.
    func run(_ client: GlideClient, tasks: Int = 10) -> Task<Void, Never> {
        let prefix = SharedServer.uniqueKey()
        return run(
            keys: (0..<tasks).map { ("\(prefix):\($0)", 0) },
            set: { key, value throws(GlideError) in try await client.set(key, value) },
            get: { key throws(GlideError) in try await client.get(key) })
    }

    /// One task per `(key, lane)`, writing and reading through `set` and `get`.
    func run(
        keys: [(key: String, lane: Int)],
        set: @escaping @Sendable (String, String) async throws(GlideError) -> Void,
        get: @escaping @Sendable (String) async throws(GlideError) -> String?
    ) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for (task, entry) in keys.enumerated() {
                    group.addTask { await self.work(key: entry.key, task: task, lane: entry.lane, set: set, get: get) }
                }
            }
        }
    }

    /// One task per `(key, lane)`, reading its key through `get`, which must give `expected(key)`.
    func runReads(
        keys: [(key: String, lane: Int)], expected: @escaping @Sendable (String) -> String,
        get: @escaping @Sendable (String) async throws(GlideError) -> String?
    ) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for (key, lane) in keys {
                    group.addTask {
                        while !self.stop.load(ordering: .relaxed) {
                            do throws(GlideError) {
                                let read = try await get(key)
                                if read != expected(key) { self.wrongReplies.withLock { $0.append("\(key): read \(read ?? "nil")") } }
                                self.succeeded(lane: lane)
                            } catch {
                                self.errors.withLock { $0[error.code, default: 0] += 1 }
                                try? await Task.sleep(for: .milliseconds(10))
                            }
                        }
                    }
                }
            }
        }
    }

    private func succeeded(lane: Int) {
        successes.add(1, ordering: .relaxed)
        laneSuccesses.withLock { $0[lane] += 1 }
        if healedAt.load(ordering: .acquiring) != 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            firstSuccessAfterHeal.withLock { if $0[lane] == 0 { $0[lane] = now } }
        }
    }

    private func work(
        key: String, task: Int, lane: Int,
        set: @Sendable (String, String) async throws(GlideError) -> Void,
        get: @Sendable (String) async throws(GlideError) -> String?
    ) async {
        var attempt = 0
        while !stop.load(ordering: .relaxed) {
            attempt += 1
            do throws(GlideError) {
                try await set(key, "task-\(task)-\(attempt)")
                let read = try await get(key) ?? "nil"
                // A value this task wrote, no later than this attempt: anything else was meant
                // for another request. (An earlier value is legal: a write that timed out may
                // have been applied late.)
                let parts = read.split(separator: "-")
                if parts.count != 3 || parts[0] != "task" || parts[1] != "\(task)" || (Int(parts[2]) ?? .max) > attempt {
                    wrongReplies.withLock { $0.append("\(key): read \(read) after writing attempt \(attempt)") }
                }
                succeeded(lane: lane)
            } catch {
                errors.withLock { $0[error.code, default: 0] += 1 }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
