import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// A standalone client's request path (`StandaloneSender`) on a manual loop, over a memory pipe:
/// its pauses run on the loop's clock, so the test decides when they end.
struct StandaloneHarness {
    static let address = NodeAddress(host: "memory", port: 1)
    let loop = ManualEventLoop()
    let connector = MemoryConnector()
    let core: ClientCore<ManualEventLoop, MemoryConnector>
    let sender: StandaloneSender<ManualEventLoop, MemoryConnector>

    init() {
        var configuration = GlideClientConfiguration(addresses: [Self.address])
        configuration.heartbeatInterval = nil
        let connector = self.connector
        core = ClientCore(options: configuration.options, loop: loop, makeConnector: { _, _ in connector })
        let connection = core.makeConnection(Self.address, waitsThroughFailedAttempts: true)
        let topology = StandaloneTopology(addresses: [Self.address])
        let routing = StandaloneRouting(connections: [connection], topology: topology, readFrom: .primary, clientAZ: nil)
        let roles = RoleFollower(
            supervisor: core.supervisor, topology: topology, connections: [connection], routing: routing,
            discoversReplicas: false, makeConnection: { _ in nil })
        sender = StandaloneSender(core: core, routing: routing, roles: roles, readOnlyClient: false)
        loop.run()
    }

    /// Sends `arguments` as a read due by `deadline`, in a task of its own.
    func get(_ arguments: [String], deadline: Deadline) -> Task<String?, any Error> {
        let sender = self.sender
        return Task {
            try await sender.send("GET", flags: .readonly, deadline: deadline, blocking: false) {
                $0.writeRESPCommand(arguments)
            }.token.stringBytes?.string
        }
    }

    /// The next connection's server end, its handshake answered (connection id 7).
    func acceptAndHandshake() async throws -> MemoryByteStream {
        var server: MemoryByteStream?
        for _ in 0..<500 where server == nil {
            loop.run()
            server = connector.servers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            if server == nil { try await Task.sleep(for: .milliseconds(2)) }
        }
        let accepted = try #require(server)
        try await settle()
        #expect(commands(accepted.receiveAll()).map(\.first) == ["HELLO", "CLIENT", "CLIENT"])
        try accepted.send("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n+OK\r\n+OK\r\n")
        try await settle()
        return accepted
    }

    /// Lets tasks on other threads reach the loop, then runs it.
    func settle() async throws {
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(2))
            loop.run()
        }
    }

    func finish() {
        core.closeWithoutWaiting()
        loop.run()
    }
}

@Suite(.timeLimit(.minutes(2))) struct StandaloneRetryTests {
    @Test func aLoadingNodeIsAskedAgainWhenTheLoopsClockSaysSo() async throws {
        let harness = StandaloneHarness()
        defer { harness.finish() }
        let get = harness.get(["GET", "k"], deadline: harness.loop.now() + .seconds(1))
        let server = try await harness.acceptAndHandshake()
        #expect(commands(server.receiveAll()) == [["GET", "k"]])
        try server.send("-LOADING Valkey is loading the dataset in memory\r\n")
        try await harness.settle()
        // The pause is 10 ms of the loop's clock: however long the test waits, nothing is sent
        // until that clock moves.
        #expect(server.receiveAll().isEmpty)
        harness.loop.advance(by: .milliseconds(9))
        try await harness.settle()
        #expect(server.receiveAll().isEmpty)
        harness.loop.advance(by: .milliseconds(1))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["GET", "k"]])
        try server.send("$1\r\nv\r\n")
        try await harness.settle()
        #expect(try await get.value == "v")
    }

    @Test func aNodeStillLoadingAtTheDeadlineIsATimeoutWithoutAnotherSend() async throws {
        let harness = StandaloneHarness()
        defer { harness.finish() }
        let get = harness.get(["GET", "k"], deadline: harness.loop.now() + .milliseconds(25))
        let server = try await harness.acceptAndHandshake()
        _ = server.receiveAll()
        try server.send("-LOADING Valkey is loading the dataset in memory\r\n")
        try await harness.settle()
        harness.loop.advance(by: .milliseconds(10))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["GET", "k"]])
        // Still loading: the next pause (20 ms) would end past the deadline.
        try server.send("-LOADING Valkey is loading the dataset in memory\r\n")
        try await harness.settle()
        let error = await #expect(throws: GlideError.self) { try await get.value }
        #expect(error?.code == .timeout)
        #expect(error?.serverCode == "LOADING")
        #expect(error?.message.hasPrefix("the request timed out waiting for the node") == true)
        #expect(server.receiveAll().isEmpty)
    }
}

/// `StandaloneRequestStateMachine`'s decisions, as transcripts.
@Suite(.timeLimit(.minutes(2))) struct StandaloneRequestStateMachineTests {
    static let t0 = Deadline(uptimeNanoseconds: 1_000_000_000)

    static func server(_ message: String) -> GlideError {
        GlideError(.server, message, serverCode: String(message.prefix { $0 != " " }), address: "memory")
    }

    @Test func loadingWaitsOnABackoffWithinTheDeadline() {
        var machine = StandaloneRequestStateMachine(readOnly: true, deadline: Self.t0 + .milliseconds(100))
        guard case .wait(let first, _) = machine.errorReplied(Self.server("LOADING x"), now: Self.t0) else {
            Issue.record("expected a wait")
            return
        }
        #expect(first == Self.t0 + .milliseconds(10))
        guard case .wait(let second, _) = machine.errorReplied(Self.server("LOADING x"), now: first) else {
            Issue.record("expected a wait")
            return
        }
        #expect(second == first + .milliseconds(20))
        // 40 ms more would end at 70 ms: still in time; 80 ms more would not.
        guard case .wait(let third, _) = machine.errorReplied(Self.server("LOADING x"), now: second) else {
            Issue.record("expected a wait")
            return
        }
        guard case .fail(let error) = machine.errorReplied(Self.server("LOADING x"), now: third) else {
            Issue.record("expected the deadline to end it")
            return
        }
        #expect(error.code == .timeout)
    }

    @Test func readonlyRefreshesTheRolesTwiceThenFails() {
        var machine = StandaloneRequestStateMachine(readOnly: false, deadline: Self.t0 + .seconds(1))
        for _ in 0..<2 {
            guard
                case .retry(refresh: true, sameNodeAllowed: false, let failure) = machine.errorReplied(
                    Self.server("READONLY x"), now: Self.t0)
            else {
                Issue.record("expected a retry elsewhere")
                return
            }
            #expect(failure.serverCode == "READONLY")
        }
        guard case .fail(let error) = machine.errorReplied(Self.server("READONLY x"), now: Self.t0) else {
            Issue.record("expected the attempts to run out")
            return
        }
        #expect(error.serverCode == "READONLY")
    }

    @Test func aRedirectGoesToTheNodeNamedTwiceThenFails() {
        var machine = StandaloneRequestStateMachine(readOnly: false, deadline: Self.t0 + .seconds(1))
        for _ in 0..<2 {
            guard case .redirect(let target, let failure) = machine.errorReplied(Self.server("REDIRECT 10.0.0.9:6380"), now: Self.t0)
            else {
                Issue.record("expected a redirection")
                return
            }
            #expect(target == NodeAddress(host: "10.0.0.9", port: 6380))
            #expect(failure.serverCode == "REDIRECT")
        }
        guard case .fail(let error) = machine.errorReplied(Self.server("REDIRECT 10.0.0.9:6380"), now: Self.t0) else {
            Issue.record("expected the attempts to run out")
            return
        }
        #expect(error.serverCode == "REDIRECT")
        // Past its deadline, a request is not redirected.
        var late = StandaloneRequestStateMachine(readOnly: false, deadline: Self.t0)
        guard case .fail = late.errorReplied(Self.server("REDIRECT 10.0.0.9:6380"), now: Self.t0) else {
            Issue.record("past the deadline, nothing is tried again")
            return
        }
    }

    @Test func otherErrorRepliesAreTheAnswer() {
        var machine = StandaloneRequestStateMachine(readOnly: true, deadline: Self.t0 + .seconds(1))
        for message in ["WRONGTYPE x", "ERR unknown command", "MOVED 12 10.0.0.1:7000", "NOSCRIPT x"] {
            guard case .reply = machine.errorReplied(Self.server(message), now: Self.t0) else {
                Issue.record("\(message) should be the answer")
                return
            }
        }
    }

    @Test func aReadLostInFlightIsReadAgainAndAWriteIsNot() {
        let lost = GlideError(.connectionClosed, "lost")
        var read = StandaloneRequestStateMachine(readOnly: true, deadline: Self.t0 + .seconds(1))
        guard case .retry(refresh: true, sameNodeAllowed: true, _) = read.failed(lost, now: Self.t0) else {
            Issue.record("expected the read again")
            return
        }
        var write = StandaloneRequestStateMachine(readOnly: false, deadline: Self.t0 + .seconds(1))
        guard case .fail(let error) = write.failed(lost, now: Self.t0) else {
            Issue.record("a write lost in flight may have run")
            return
        }
        #expect(error.code == .connectionClosed)
        // Never sent: elsewhere only, and not past the deadline.
        let unsent = GlideError(.connectionFailed, "no connection")
        var late = StandaloneRequestStateMachine(readOnly: false, deadline: Self.t0)
        guard case .fail = late.failed(unsent, now: Self.t0) else {
            Issue.record("past the deadline, nothing is tried again")
            return
        }
        guard case .retry(refresh: true, sameNodeAllowed: false, _) = write.failed(unsent, now: Self.t0) else {
            Issue.record("expected a retry elsewhere")
            return
        }
    }
}
