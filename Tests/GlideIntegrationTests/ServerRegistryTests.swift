import Foundation
import Testing

@testable import GlideTestSupport

/// The harness kills leftovers of test runs that ended, never another run's live servers: a soak
/// running beside `make test` once lost a cluster node to the other run's start.
@Suite(.timeLimit(.minutes(1))) struct ServerRegistryTests {
    /// A `sleep` standing in for a server, in a `glide-test-` directory as servers are.
    static func fakeServer() throws -> ChildProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glide-test-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try ChildProcess.spawn("/bin/sleep", ["30"], directory: directory.path)
    }

    static func pidFile(owner: Int32, listing pids: [Int32]) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(ServerRegistry.pidFilePrefix)\(owner).pids")
        try pids.map(String.init).joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func aLiveRunsServersAreLeftAloneAndAnEndedRunsAreKilled() throws {
        // A run that ended: a process that exited, whose file lists a server still running.
        let ended = try ChildProcess.spawn("/bin/true", [])
        ended.waitForExit()
        let orphan = try Self.fakeServer()
        let endedFile = try Self.pidFile(owner: ended.pid, listing: [orphan.pid])
        // A run still going: its owner runs, and so does its server.
        let owner = try Self.fakeServer()
        let live = try Self.fakeServer()
        let liveFile = try Self.pidFile(owner: owner.pid, listing: [live.pid])
        defer {
            for process in [owner, live, orphan] { process.signal(SIGKILL) }
            try? FileManager.default.removeItem(at: liveFile)
        }
        ServerRegistry.killLeftoversOfCrashedRuns()
        #expect(orphan.waitForExit() == 128 + SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: endedFile.path))
        #expect(live.isRunning, "another run's server was killed")
        #expect(FileManager.default.fileExists(atPath: liveFile.path))
    }
}
