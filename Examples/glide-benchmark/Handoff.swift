import Foundation
import Glide

/// Context switches of every thread of this process so far, voluntary and not
/// (/proc/self/task/*/status); threads that ended are not counted.
func contextSwitches() -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    var total = 0
    for task in tasks {
        guard let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8) else { continue }
        for line in status.split(separator: "\n") where line.hasSuffix("ctxt_switches") == false && line.contains("ctxt_switches:") {
            total += Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        }
    }
    return total
}

/// `-t handoff`: the client's request path with everything but the hand-offs taken out, and no
/// server. Each of `-c` tasks, `-n` times in all, suspends on a continuation that it hands to an
/// event loop (`EpollEventLoop.execute`, which wakes the loop's thread once per burst), and the
/// loop's thread resumes it: the caller's side of a request as a task on Swift's default
/// executor makes it, one hop to the loop and one back. With `--on-loop` the tasks run on the
/// loop's own executor and no thread changes. Prints ops/s, CPU-s/100k and context switches per
/// 100 round trips.
func runHandoff(tasks: Int, count: Int, onLoop: Bool, csv: Bool) async {
    let loop = EpollEventLoopGroup.shared.loops[0]
    let perTask = max(1, count / max(tasks, 1))
    let switchesBefore = contextSwitches()
    let cpuStart = cpuSeconds()
    let start = nanoseconds()
    let body: @Sendable () async -> Void = {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    for _ in 0..<perTask {
                        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                            loop.execute { continuation.resume() }
                        }
                    }
                }
            }
        }
    }
    if onLoop {
        await withTaskExecutorPreference(loop) { await body() }
    } else {
        await body()
    }
    let seconds = Double(nanoseconds() - start) / 1e9
    let done = perTask * tasks
    let rate = Double(done) / seconds
    let cpu = (cpuSeconds() - cpuStart) / Double(done) * 100_000
    let switches = Double(contextSwitches() - switchesBefore) / Double(done) * 100
    let name = onLoop ? "HANDOFF ON LOOP" : "HANDOFF"
    if csv {
        print("\"\(name)\",\"\(String(format: "%.2f", rate))\",\"\(String(format: "%.3f", cpu))\",\"\(String(format: "%.1f", switches))\"")
    } else {
        print(
            "\(name): \(String(format: "%.2f", rate)) round trips per second, cpu=\(String(format: "%.3f", cpu)) s/100k, "
                + "\(String(format: "%.1f", switches)) context switches per 100")
    }
}
