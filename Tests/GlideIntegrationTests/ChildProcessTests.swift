import Foundation
import Testing

@testable import GlideTestSupport

/// Children the tests start are reaped as they exit, waited for or not: Swift Testing's exit
/// tests wait on every child with `waitid` and see only the oldest zombie, so one child left
/// unreaped once hung an exit test until CI's limit.
@Suite(.timeLimit(.minutes(1))) struct ChildProcessTests {
    /// The state letter in `/proc/<pid>/stat` (`Z` for a zombie), or `nil` once the PID is gone.
    static func state(of pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].first
    }

    @Test func aChildNobodyWaitsForIsReapedWhenItExits() async throws {
        let child = try ChildProcess.spawn("/bin/sleep", ["30"])
        #expect(child.signal(SIGKILL))
        // Nothing here asks the child anything: only the reaper can end the zombie.
        let deadline = ContinuousClock.now + .seconds(20)
        while let state = Self.state(of: child.pid) {
            try #require(ContinuousClock.now < deadline, "pid \(child.pid) still in state \(state)")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(child.terminationStatus == 128 + SIGKILL)
        #expect(!child.signal(SIGTERM), "a reaped child's PID is not signalled")
    }

    @Test func anExitTestEndsWhileAKilledChildWasNeverWaitedFor() async throws {
        let child = try ChildProcess.spawn("/bin/sleep", ["30"])
        child.signal(SIGKILL)
        await #expect(processExitsWith: .exitCode(3)) { exit(3) }
    }
}
