import CGlideSystem
import Foundation

/// A program the tests start (a server, `ip`, `openssl`, glide-cli, tmux): spawned with
/// `posix_spawn`, with every descriptor above standard error closed in the child, and reaped by a
/// thread of its own the moment it exits.
///
/// The prompt reaping matters: Swift Testing learns of an exit test's end from `waitid` over all
/// children without reaping them, and it sees only the oldest zombie; a child of ours left unreaped
/// (killed, and never waited for) hid every exit test's end behind it for the rest of the run.
/// A signal goes through `signal(_:)`, which never reaches a PID the kernel gave to another
/// process after this one was reaped.
///
/// Not Foundation's `Process`: on Linux it closes the parent's other descriptors in the child only
/// up to the highest one open when it looks, and learns of a child's exit from a socket the child
/// holds. A server spawned at the same moment on another thread can inherit that socket (or a
/// pipe), and then the other child's exit, or its pipe's end, is not seen until that server exits:
/// for a shared server, until the run ends. Here nothing but the three standard descriptors
/// reaches a child, and an exit is read from the kernel.
public final class ChildProcess: @unchecked Sendable {
    /// The child's process ID.
    public let pid: Int32
    private let exited = NSCondition()
    private var status: Int32?

    private init(pid: Int32) { self.pid = pid }

    /// Starts `executable` with `arguments` in `directory`. Standard input reads `input` (a
    /// file's path; `/dev/null` when `nil`); standard output goes to `output` (a file's path,
    /// appended to; `/dev/null` when `nil`), and standard error too when `errorsToOutput`.
    /// `exiting` runs on the reaper's thread once the child has exited, while its PID is still
    /// its own.
    public static func spawn(
        _ executable: String, _ arguments: [String], directory: String? = nil, input: String? = nil, output: String? = nil,
        errorsToOutput: Bool = false, exiting: (@Sendable (Int32) -> Void)? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        let outputPath = output ?? "/dev/null"
        try check(posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0), "open its input")
        try check(posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644), "open its output")
        if errorsToOutput {
            try check(posix_spawn_file_actions_adddup2(&actions, 1, 2), "join its errors to its output")
        } else {
            try check(posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0), "discard its errors")
        }
        try check(Spawn.closeFrom(&actions, 3), "close the other descriptors")
        if let directory { try check(Spawn.changeDirectory(&actions, directory), "enter \(directory)") }
        // Signals as a new program expects them: none blocked, SIGPIPE not ignored.
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
        guard result == 0 else {
            throw ChildProcessFailure("could not start \(executable): \(String(cString: strerror(result)))")
        }
        let child = ChildProcess(pid: pid)
        Thread { [child] in
            CGlideSystem_setThreadName(reaperThreadName)
            child.reapWhenExited(exiting)
        }.start()
        return child
    }

    /// The name of every reaper thread, which a soak sampling the test process leaves out of its
    /// count.
    public static let reaperThreadName = "child-reaper"

    /// Blocks until the child has exited, then reaps it and wakes its waiters.
    private func reapWhenExited(_ exiting: (@Sendable (Int32) -> Void)?) {
        var info = siginfo_t()
        // Waits without reaping, so the PID stays this child's while `exiting` runs and while a
        // signal may still be sent under the lock.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        exiting?(pid)
        exited.lock()
        defer { exited.unlock() }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        exited.broadcast()
    }

    private static func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw ChildProcessFailure("posix_spawn could not \(what): \(String(cString: strerror(result)))") }
    }

    /// Whether the child still runs.
    public var isRunning: Bool { terminationStatus == nil }

    /// How it ended: its exit code, or 128 plus the signal's number; `nil` while it runs.
    public var terminationStatus: Int32? {
        exited.lock()
        defer { exited.unlock() }
        return status
    }

    /// Sends `signal` if the child has not been reaped (a PID the kernel may have handed on is
    /// never signalled); whether it was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        exited.lock()
        defer { exited.unlock() }
        return status == nil && kill(pid, signal) == 0
    }

    /// Waits for the child to exit; how it ended (see `terminationStatus`). Blocks: call it off
    /// the cooperative pool.
    @discardableResult
    public func waitForExit() -> Int32 {
        exited.lock()
        defer { exited.unlock() }
        while status == nil { exited.wait() }
        return status!
    }
}

/// Why a child process could not be started.
public struct ChildProcessFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// A failure that says `description`.
    public init(_ description: String) { self.description = description }
}

/// glibc's spawn file actions that Swift's Glibc module leaves out (they are GNU extensions),
/// looked up once.
private enum Spawn {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFromFunction: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let changeDirectoryFunction: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }

    /// Closes every descriptor from `first` up in the child (glibc 2.34 and later).
    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ first: Int32) -> Int32 {
        closeFromFunction.map { $0(actions, first) } ?? ENOSYS
    }

    /// Enters `directory` in the child (glibc 2.29 and later).
    static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String) -> Int32 {
        guard let function = changeDirectoryFunction else { return ENOSYS }
        return directory.withCString { function(actions, $0) }
    }
}
