import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

typealias MemorySupervisor = ConnectionSupervisor<ManualEventLoop, MemoryConnector>

/// A supervised connection over memory pipes on a manual loop: the supervisor actor runs on the
/// loop too, so every step, and every tick of the clock, is the test's.
struct SupervisedHarness {
    let supervisor: MemorySupervisor
    var base: Harness

    var loop: ManualEventLoop { base.loop }
    var connector: MemoryConnector { base.connector }
    var connection: MemoryConnection { base.connection }

    init(checkInterval: Duration? = nil) {
        let loop = ManualEventLoop()
        supervisor = MemorySupervisor(
            loop: loop, strategy: BackoffStrategy(jitterPercent: 0), checkInterval: checkInterval,
            checkTimeout: .seconds(1))
        base = Harness(loop: loop, observer: supervisor)
        let supervisor = self.supervisor
        let connection = base.connection
        loop.execute {
            supervisor.assumeIsolated { supervisor in
                supervisor.supervise(connection, connecting: false)
                supervisor.start()
            }
        }
        loop.run()
    }

    /// The next connection attempt's server end, with the handshake done (connection id 7).
    mutating func accept() async throws -> MemoryByteStream { try await base.acceptAndHandshake() }

    /// The next connection attempt's server end, before any handshake.
    func nextServer() async -> MemoryByteStream? { await base.nextServer() }

    /// Lets tasks on other threads reach the loop, then runs it.
    func settle() async throws { try await base.settle() }

    /// Closes the supervisor (and its connection) and runs the loop until it let go of them.
    func finish() {
        supervisor.closeWithoutWaiting()
        base.finish()
    }

    /// Runs `body` (an async call into the supervisor, say) while driving the loop.
    func driving<T: Sendable>(_ body: @escaping @Sendable () async -> T) async throws -> T {
        let task = Task { await body() }
        try await settle()
        return await task.value
    }
}

@Suite(.timeLimit(.minutes(2))) struct ConnectionSupervisorTests {
    @Test func aLostConnectionIsReopenedAtOnceInTheBackground() async throws {
        var harness = SupervisedHarness()
        defer { harness.finish() }
        let connection = harness.connection
        let connect = Task { await connection.connect() }
        let first = try await harness.accept()
        #expect(try await harness.driving { await connect.value }.isSuccess)
        first.close()
        harness.loop.run()
        // No request asked: the supervisor opened a new connection, without waiting.
        let second = try await harness.accept()
        #expect(harness.connector.attempts.load(ordering: .relaxed) == 2)
        let ready = harness.connection.isReady.load(ordering: .relaxed)
        #expect(ready)
        _ = second
    }

    @Test func failedAttemptsAreRetriedOnTheBackoffScheduleAndRequestsWaitForThem() async throws {
        var harness = SupervisedHarness()
        defer { harness.finish() }
        let connection = harness.connection
        let connect = Task { await connection.connect() }
        let first = try await harness.accept()
        _ = try await harness.driving { await connect.value }
        harness.connector.refuse.withLock { $0 = true }
        first.close()
        try await harness.settle()
        #expect(harness.connector.attempts.load(ordering: .relaxed) == 2)  // at once, refused
        // A request meanwhile waits for the reconnection, up to its own deadline.
        let deadline = harness.loop.now() + .seconds(10)
        let get = Task { await connection.send(deadline: deadline) { $0.writeRESPCommand(["GET", "k"]) } }
        harness.loop.advance(by: .milliseconds(99))
        try await harness.settle()
        #expect(harness.connector.attempts.load(ordering: .relaxed) == 2)
        harness.loop.advance(by: .milliseconds(1))  // 100 ms after the failure
        try await harness.settle()
        #expect(harness.connector.attempts.load(ordering: .relaxed) == 3)
        harness.loop.advance(by: .milliseconds(200))  // then 200 ms
        try await harness.settle()
        #expect(harness.connector.attempts.load(ordering: .relaxed) == 4)
        // The server comes back: the next attempt, 400 ms later, connects, and the request goes out.
        harness.connector.refuse.withLock { $0 = false }
        harness.loop.advance(by: .milliseconds(400))
        let server = try await harness.accept()
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["GET", "k"]])
        try server.send("$1\r\nv\r\n")
        harness.loop.run()
        #expect(try await get.value.get().token.stringBytes == "v")
    }

    @Test func anIdleConnectionIsCheckedWithAPing() async throws {
        var harness = SupervisedHarness(checkInterval: .seconds(3))
        defer { harness.finish() }
        let connection = harness.connection
        let connect = Task { await connection.connect() }
        let server = try await harness.accept()
        _ = try await harness.driving { await connect.value }
        harness.loop.advance(by: .seconds(3))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["PING"]])
        // Unanswered, it makes the connection stale: 1 s of check timeout and 2 s of grace later,
        // the connection is given up and reopened.
        harness.loop.advance(by: .seconds(3))
        try await harness.settle()
        #expect(server.peerClosed)
        _ = try await harness.accept()
    }

    @Test func aCancelledBlockingCommandIsUnblockedFromASideConnection() async throws {
        var harness = SupervisedHarness()
        defer { harness.finish() }
        let connection = harness.connection
        let connect = Task { await connection.connect() }
        let server = try await harness.accept()
        _ = try await harness.driving { await connect.value }
        let blpop = Task { await connection.send(deadline: .distantFuture, blocking: true) { $0.writeRESPCommand(["BLPOP", "q", "0"]) } }
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["BLPOP", "q", "0"]])
        blpop.cancel()
        try await harness.settle()  // the supervisor, on the loop, takes it from here
        // A side connection asks the server to unblock connection 7.
        let side = try #require(await harness.nextServer())
        try await harness.settle()
        let sent = commands(side.receiveAll())
        #expect(sent.first?.first == "HELLO")
        try side.send("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:8\r\n+OK\r\n+OK\r\n")
        try await harness.settle()
        #expect(commands(side.receiveAll()) == [["CLIENT", "UNBLOCK", "7", "TIMEOUT"]])
        try side.send(":1\r\n")
        try await harness.settle()
        // The server unblocks BLPOP with a null reply: the caller learns it was cancelled.
        try server.send("_\r\n")
        harness.loop.run()
        guard case .failure(let error) = await blpop.value else {
            Issue.record("expected a cancellation")
            return
        }
        #expect(error.code == .cancelled)
        try await harness.settle()
        #expect(side.peerClosed)  // the side connection is closed once done
    }

    @Test func closeEndsTheTasksAndTimersAndFailsTheWaiters() async throws {
        var harness = SupervisedHarness(checkInterval: .seconds(3))
        defer { harness.finish() }
        let connection = harness.connection
        let connect = Task { await connection.connect() }
        _ = try await harness.accept()
        _ = try await harness.driving { await connect.value }
        let get = Task { await connection.send(deadline: .distantFuture) { $0.writeRESPCommand(["GET", "k"]) } }
        try await harness.settle()
        let supervisor = harness.supervisor
        try await harness.driving { await supervisor.close() }
        guard case .failure(let error) = await get.value else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .clientClosed)
        #expect(harness.loop.pendingTimerCount == 0)
        #expect(harness.loop.registrationCount == 0)
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
