import Foundation

/// Every server process the tests started and have not stopped, so none outlives the test run.
///
/// Kills only processes this support started, by PID: the ones registered here, and, after a run
/// that crashed, the ones listed in its PID file whose working directory is one of our
/// `glide-test-` directories. Each test process has a PID file of its own, named by its PID: a
/// run that starts while another is running (a soak beside `make test`) leaves the other's
/// servers alone, and takes only the files of runs that ended.
enum ServerRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: [Int32: URL] = [:]
    /// Every server directory not yet removed, running or not (a killed node keeps its own for
    /// a restart): removed at exit.
    nonisolated(unsafe) private static var directories: Set<URL> = []
    nonisolated(unsafe) private static var installed = false

    /// The PID files' names: this prefix, the test process's PID, `.pids`.
    static let pidFilePrefix = "glide-test-servers."

    /// Where the PIDs of this process's running servers are written, for the run after a crash.
    static let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent(
        "\(pidFilePrefix)\(getpid()).pids")

    /// Records a started server.
    static func register(_ pid: Int32, directory: URL) {
        lock.withLock {
            if !installed {
                installed = true
                killLeftoversOfCrashedRuns()
                atexit { ServerRegistry.killAll() }
            }
            running[pid] = directory
            directories.insert(directory)
            writePidFile()
        }
    }

    /// Records a directory of the tests' own (certificates, say), removed at exit.
    static func registerDirectory(_ directory: URL) {
        lock.withLock {
            if !installed {
                installed = true
                killLeftoversOfCrashedRuns()
                atexit { ServerRegistry.killAll() }
            }
            directories.insert(directory)
        }
    }

    /// Forgets a directory that was removed.
    static func directoryRemoved(_ directory: URL) {
        lock.withLock { _ = directories.remove(directory) }
    }

    /// Forgets a server that was stopped.
    static func unregister(_ pid: Int32) {
        lock.withLock {
            running[pid] = nil
            writePidFile()
        }
    }

    /// At exit: SIGKILL whatever is still running (the shared servers, or a test's that failed
    /// before its cleanup), and remove their directories.
    static func killAll() {
        lock.withLock {
            for (pid, directory) in running {
                kill(pid, SIGKILL)
                try? FileManager.default.removeItem(at: directory)
            }
            running.removeAll()
            for directory in directories { try? FileManager.default.removeItem(at: directory) }
            directories.removeAll()
            try? FileManager.default.removeItem(at: pidFile)
        }
    }

    private static func writePidFile() {
        let text = running.keys.map(String.init).joined(separator: "\n")
        try? text.write(to: pidFile, atomically: true, encoding: .utf8)
    }

    /// Kills the servers of test processes that ended without their cleanup (a crash, a
    /// SIGKILL), from their PID files; a file whose process still runs is another run's, and stays.
    static func killLeftoversOfCrashedRuns() {
        let directory = FileManager.default.temporaryDirectory
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in files where name.hasPrefix(pidFilePrefix) && name.hasSuffix(".pids") {
            let owner = Int32(name.dropFirst(pidFilePrefix.count).dropLast(".pids".count)) ?? 0
            guard owner > 0, owner != getpid(), kill(owner, 0) != 0, errno == ESRCH else { continue }
            let file = directory.appendingPathComponent(name)
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            for pid in text.split(separator: "\n").compactMap({ Int32($0) }) {
                let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
                if cwd.contains("glide-test-") { kill(pid, SIGKILL) }
            }
            try? FileManager.default.removeItem(at: file)
        }
    }
}
