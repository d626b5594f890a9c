import Foundation
import Glide

/// valkey-cli's modes for operators: a command's output is replaced by a measurement or a walk of
/// the keyspace. Each prints what valkey-cli (and redis-cli 7.0) prints, byte for byte where the
/// values are the same; with `-c` they cover the whole cluster, where valkey-cli covers one node.
enum OperatorMode {
    /// `--latency`: `PING` round trips, 100 a second.
    case latency
    /// `--latency-history`: the same, restarted every 15 s (`-i`).
    case latencyHistory
    /// `--scan`: every key (`--pattern`), one per line.
    case scan
    /// `--bigkeys`: the biggest key of each type, and each type's count and average size.
    case bigkeys
    /// `--stat`: keys, memory, clients and load from `INFO`, every second (`-i`).
    case stat
}

/// How the modes reach the server: commands, and SCAN pages over one server or a whole cluster.
struct OperatorConnection: Sendable {
    /// A command's reply: one value, or one per node (`-c`, commands for every node).
    let send: Send
    /// A command of binary arguments (a key as SCAN returned it) and its one reply.
    let sendBytes: @Sendable ([Bytes]) async throws(GlideError) -> RESPValue
    /// A new walk of the keys matching the pattern, `count` per step.
    let keyPages: @Sendable (_ pattern: String?, _ count: Int) -> KeyPages
}

/// The pages of one SCAN walk; `nil` once it is done.
final class KeyPages: @unchecked Sendable {
    private let step: (KeyPages) async throws(GlideError) -> [Bytes]?
    /// A standalone walk's cursor, or a cluster walk's; touched by one task.
    var cursor: String? = "0"
    var clusterCursor = ClusterScanCursor()

    init(step: @escaping (KeyPages) async throws(GlideError) -> [Bytes]?) { self.step = step }

    /// The keys of the next SCAN call, or `nil` when the walk is done.
    func next() async throws(GlideError) -> [Bytes]? { try await step(self) }
}

/// Writes to standard output unbuffered, so a reader of a pipe sees each line as it is made.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes `bytes` as they are, stopping at a NUL as valkey-cli's `printf("%s")` does.
func emitRaw(_ bytes: Bytes, then suffix: String) {
    FileHandle.standardOutput.write(Data(Array(bytes).prefix { $0 != 0 } + Array(suffix.utf8)))
}

/// Milliseconds of the wall clock, as valkey-cli's `mstime()` reads it.
func milliseconds() -> Int64 {
    var now = timeval()
    gettimeofday(&now, nil)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_usec) / 1000
}

/// Sleeps without holding a thread of the cooperative pool.
func pause(seconds: Double) async {
    guard seconds > 0 else { return }
    try? await Task.sleep(for: .microseconds(Int(seconds * 1_000_000)))
}

extension OperatorMode {
    /// Runs the mode until it is done (`--scan`, `--bigkeys`, `--latency` on a pipe) or forever.
    func run(_ connection: OperatorConnection, options: Options) async -> Bool {
        do throws(GlideError) {
            switch self {
            case .latency, .latencyHistory: try await Self.latency(connection, options: options, history: self == .latencyHistory)
            case .scan: try await Self.scan(connection, options: options)
            case .bigkeys: try await Self.bigkeys(connection, options: options)
            case .stat: try await Self.stat(connection, options: options)
            }
            return true
        } catch {
            FileHandle.standardError.write(Data("\(error.message)\n".utf8))
            return false
        }
    }

    // MARK: Latency

    /// `PING`, then 10 ms, again and again: min, max and average in whole milliseconds.
    private static func latency(_ connection: OperatorConnection, options: Options, history: Bool) async throws(GlideError) {
        let interval = options.interval > 0 ? Int64(options.interval * 1000) : (history ? 15_000 : 1_000)
        var (minimum, maximum, total, count): (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
        var average = 0.0
        var started = milliseconds()
        while true {
            let start = milliseconds()
            _ = try await connection.send(["PING"])
            let latency = milliseconds() - start
            count += 1
            if count == 1 {
                (minimum, maximum, total) = (latency, latency, latency)
            } else {
                minimum = min(minimum, latency)
                maximum = max(maximum, latency)
                total += latency
            }
            average = Double(total) / Double(count)
            let figures = (minimum, maximum, String(format: "%.2f", average), count)
            switch options.mode {
            case .human:
                emit("\u{1b}[0G\u{1b}[2Kmin: \(figures.0), max: \(figures.1), avg: \(figures.2) (\(figures.3) samples)")
            case .raw, .csv:
                let separator = options.mode == .csv ? "," : " "
                let line = "\(figures.0)\(separator)\(figures.1)\(separator)\(figures.2)\(separator)\(figures.3)\n"
                if history {
                    emit(line)
                } else if milliseconds() - started > interval {
                    // On a pipe, --latency samples for the interval and prints one line.
                    emit(line)
                    return
                }
            }
            if history && milliseconds() - started > interval {
                emit(String(format: " -- %.2f seconds range\n", Double(milliseconds() - started) / 1000))
                started = milliseconds()
                (minimum, maximum, total, count) = (0, 0, 0, 0)
            }
            await pause(seconds: 0.010)
        }
    }

    // MARK: Scan

    /// Every key matching `--pattern`, one per line: quoted on a terminal, raw otherwise.
    private static func scan(_ connection: OperatorConnection, options: Options) async throws(GlideError) {
        let pages = connection.keyPages(options.pattern, options.count)
        while let keys = try await pages.next() {
            for key in keys {
                if options.mode == .human { emit(key.quoted + "\n") } else { emitRaw(key, then: "\n") }
            }
            await pause(seconds: options.interval)
        }
    }
}
