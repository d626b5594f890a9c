import Foundation
import GlideTransport

/// Samples this process's resources for a soak: resident memory, open descriptors, threads, and
/// the 99th percentile of the request latencies recorded since the last sample. Writes one CSV
/// row per sample.
public final class ResourceSampler: Sendable {
    /// One sample.
    public struct Sample: Sendable {
        /// Seconds since the sampler started.
        public let seconds: Double
        /// Resident memory, in KiB.
        public let residentKiB: Int
        /// Open file descriptors.
        public let descriptors: Int
        /// Threads of the process.
        public let threads: Int
        /// Of the latencies recorded since the previous sample; 0 when none was.
        public let p99Milliseconds: Double
        /// How many requests those were.
        public let requests: Int
    }

    private let started = ContinuousClock.now
    private let latencies = Lock<[UInt32]>([])
    private let samples = Lock<[Sample]>([])

    /// A sampler; `sample()` takes each sample.
    public init() {}

    /// Records one request's latency.
    public func record(_ latency: Duration) {
        let micros = latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000
        latencies.withLock { $0.append(UInt32(clamping: micros)) }
    }

    /// Takes a sample now, leaving out of the counts what is not the client's: the harness's
    /// reaper threads, the threads named `excludedThreads` (a fault proxy's), and
    /// `excludedDescriptors` descriptors.
    @discardableResult
    public func sample(excludedThreads: String? = nil, excludedDescriptors: Int = 0) -> Sample {
        var window = latencies.withLock { latencies in
            defer { latencies.removeAll(keepingCapacity: true) }
            return latencies
        }
        window.sort()
        let p99 = window.isEmpty ? 0 : Double(window[min(window.count - 1, window.count * 99 / 100)]) / 1000
        let sample = Sample(
            seconds: Double((ContinuousClock.now - started).components.seconds), residentKiB: Self.residentKiB(),
            descriptors: Self.count(in: "/proc/self/fd") - excludedDescriptors, threads: Self.threads(except: excludedThreads),
            p99Milliseconds: p99,
            requests: window.count)
        samples.withLock { $0.append(sample) }
        return sample
    }

    /// Every sample so far.
    public var all: [Sample] { samples.withLock { $0 } }

    /// The samples as CSV, with a header line.
    public var csv: String {
        "seconds,rss_kib,descriptors,threads,p99_ms,requests\n"
            + all.map { "\(Int($0.seconds)),\($0.residentKiB),\($0.descriptors),\($0.threads),\($0.p99Milliseconds),\($0.requests)" }
            .joined(separator: "\n") + "\n"
    }

    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// The process's threads, except the reapers of child processes and those named `name`.
    static func threads(except name: String?) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let excluded: Set = [ChildProcess.reaperThreadName, name ?? ChildProcess.reaperThreadName]
        return tasks.count { task in
            // A thread that ended meanwhile has no name to read: not counted.
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8) else { return false }
            return !excluded.contains(comm.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    static func count(in directory: String) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: directory).count) ?? 0
    }
}
