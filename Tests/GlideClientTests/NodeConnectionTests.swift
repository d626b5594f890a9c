import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Opens memory pipes and hands the server's end of each to the test.
final class MemoryConnector: NodeConnector, @unchecked Sendable {
    /// Server ends of the attempts the test has not taken yet, oldest first.
    let servers = Lock<[MemoryByteStream]>([])
    let refuse = Lock(false)
    /// Whether the server end is closed as soon as it is made, before the client writes anything.
    let closeAtOnce = Lock(false)
    /// Connection attempts so far, refused ones included.
    let attempts = Atomic<Int>(0)

    var addressDescription: String { "memory" }
    var address: NodeAddress { NodeAddress(host: "memory", port: 0) }

    func connect(deadline: Deadline) async throws(TransportError) -> MemoryByteStream {
        attempts.add(1, ordering: .relaxed)
        if refuse.withLock({ $0 }) { throw TransportError(.connectFailed, errno: .connectionRefused, detail: "memory") }
        let (client, server) = MemoryByteStream.makePair()
        if closeAtOnce.withLock({ $0 }) { server.close() }
        servers.withLock { $0.append(server) }
        return client
    }
}

typealias MemoryConnection = NodeConnection<ManualEventLoop, MemoryConnector>

/// A connection over a memory pipe, driven by a manual loop: every step is the test's.
struct Harness {
    let loop: ManualEventLoop
    let connector = MemoryConnector()
    let connection: MemoryConnection

    /// A connection on `loop`; with an `observer` (a supervisor) it is supervised.
    init(limit: Int = 100, loop: ManualEventLoop = ManualEventLoop(), observer: (any ConnectionObserver)? = nil) {
        self.loop = loop
        connection = MemoryConnection(
            loop: loop, connector: connector,
            handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0),
            inflightLimit: limit, connectionTimeout: .seconds(2),
            policy: observer == nil ? .unsupervised : ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: true),
            observer: observer)
    }

    /// Sends a command and returns the task waiting for its reply.
    func send(_ arguments: [String], timeout: Duration = .seconds(1)) -> Task<Result<ConnectionReply, GlideError>, Never> {
        let deadline = loop.now() + timeout
        let connection = self.connection
        return Task { await connection.send(deadline: deadline) { $0.writeRESPCommand(arguments) } }
    }

    /// Waits for the next connection attempt and completes its handshake as a server would,
    /// giving the connection id 7.
    mutating func acceptAndHandshake() async throws -> MemoryByteStream {
        let server = try #require(await nextServer())
        try await settle()
        #expect(commands(server.receiveAll()).map(\.first) == ["HELLO", "CLIENT", "CLIENT"])
        try server.send("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n+OK\r\n+OK\r\n")
        loop.run()
        return server
    }

    /// The server end of the next connection attempt: connection attempts run on the loop, so
    /// the loop runs until one was made (`nil` when none is within a second).
    func nextServer() async -> MemoryByteStream? {
        for _ in 0..<500 {
            loop.run()
            let next = connector.servers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            if let next { return next }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    /// Closes the connection and runs the loop until it let go of it: the loop holds its handlers
    /// until then.
    func finish() {
        connection.close()
        loop.run()
    }

    /// Lets tasks on other threads reach the loop, then runs it.
    func settle() async throws {
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(2))
            loop.run()
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct NodeConnectionTests {
    @Test func requestConnectsHandshakesAndGetsItsReply() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let get = harness.send(["GET", "k"])
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["GET", "k"]])
        try server.send("$1\r\nv\r\n")
        harness.loop.run()
        #expect(try await get.value.get().token.stringBytes == "v")
    }

    @Test func repliesSplitAcrossReadsReachTheRightCallers() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let first = harness.send(["GET", "a"])
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        let second = harness.send(["GET", "b"])
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["GET", "a"], ["GET", "b"]])
        for piece in ["$3\r\no", "ne\r\n$3", "\r\ntwo\r", "\n"] {
            try server.send(piece)
            harness.loop.run()
        }
        #expect(try await first.value.get().token.stringBytes == "one")
        #expect(try await second.value.get().token.stringBytes == "two")
    }

    /// A reply announcing 512 MB reserves no more than a read's worth until its bytes come; a
    /// real large value still arrives whole, the buffer growing with what arrived.
    @Test func aLengthClaimIsNotAllocatedBeforeItsBytesArrive() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let claim = harness.send(["GET", "claimed"], timeout: .seconds(30))
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        _ = server.receiveAll()
        // The claim, then its bytes trickling in: each read after the claim is where a buffer of
        // the announced size would be reserved.
        try server.send("$536870912\r\nabc")
        harness.loop.run()
        try server.send("def")
        harness.loop.run()
        let connection = harness.connection
        let capacity = Lock(0)
        harness.loop.execute { capacity.withLock { $0 = connection.readBuffer.value.capacity } }
        harness.loop.run()
        #expect(capacity.withLock { $0 } <= 2 * MemoryConnection.readSize, "\(capacity.withLock { $0 }) bytes reserved")
        claim.cancel()
        _ = await claim.value
    }

    @Test func aLargeValueArrivingInPiecesGrowsTheBufferAndArrivesWhole() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let get = harness.send(["GET", "big"], timeout: .seconds(30))
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        _ = server.receiveAll()
        let size = 3 * 1024 * 1024 + 17
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var value = Bytes()
        value.writeBytes(bytes)
        try server.send("$\(size)\r\n")
        var offset = 0
        while offset < size {
            let piece = min(50_000, size - offset)
            var chunk = Bytes()
            chunk.writeBytes(bytes[offset..<offset + piece])
            try server.send(chunk)
            harness.loop.run()
            offset += piece
        }
        try server.send("\r\n")
        harness.loop.run()
        #expect(try await get.value.get().token.stringBytes == value)
    }

    @Test func timeoutOnTheManualClockDiscardsTheLateReply() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let warmup = harness.send(["PING"])
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        try server.send("+PONG\r\n")
        harness.loop.run()
        _ = await warmup.value

        let slow = harness.send(["GET", "slow"], timeout: .milliseconds(250))
        try await harness.settle()
        harness.loop.advance(by: .milliseconds(300))
        guard case .failure(let error) = await slow.value else {
            Issue.record("expected a timeout")
            return
        }
        #expect(error.code == .timeout)
        let next = harness.send(["GET", "next"])
        try await harness.settle()
        try server.send("$4\r\nlate\r\n$4\r\nnext\r\n")
        harness.loop.run()
        #expect(try await next.value.get().token.stringBytes == "next")
    }

    @Test func malformedReplyFailsWithAProtocolErrorAndReconnects() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let get = harness.send(["GET", "k"])
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        try server.send("$2\r\nokXX")  // no CRLF after the payload
        harness.loop.run()
        guard case .failure(let error) = await get.value else {
            Issue.record("expected a protocol error")
            return
        }
        #expect(error.code == .protocolError)
        #expect(server.peerClosed)
        // The next request opens a new connection.
        let retry = harness.send(["GET", "k"])
        let second = try await harness.acceptAndHandshake()
        try await harness.settle()
        #expect(commands(second.receiveAll()) == [["GET", "k"]])
        try second.send("$2\r\nok\r\n")
        harness.loop.run()
        #expect(try await retry.value.get().token.stringBytes == "ok")
    }

    @Test func peerCloseFailsInFlightRequestsAtOnce() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let first = harness.send(["GET", "a"], timeout: .seconds(60))
        let server = try await harness.acceptAndHandshake()
        let second = harness.send(["GET", "b"], timeout: .seconds(60))
        try await harness.settle()
        server.close()
        harness.loop.run()
        for task in [first, second] {
            guard case .failure(let error) = await task.value else {
                Issue.record("expected a failure")
                continue
            }
            #expect(error.code == .connectionClosed)
        }
        #expect(harness.loop.registrationCount == 0)
    }

    @Test func refusedConnectionFailsTheQueuedRequests() async throws {
        let harness = Harness()
        defer { harness.finish() }
        harness.connector.refuse.withLock { $0 = true }
        let get = harness.send(["GET", "k"])
        try await harness.settle()
        guard case .failure(let error) = await get.value else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .connectionFailed)
        #expect(error.transportError?.errno == .connectionRefused)
    }

    @Test func aServerThatClosesBeforeTheHandshakeIsWrittenFailsTheAttempt() async throws {
        let harness = Harness()
        defer { harness.finish() }
        harness.connector.closeAtOnce.withLock { $0 = true }
        let ping = harness.send(["PING"])
        _ = try #require(await harness.nextServer())
        try await harness.settle()
        guard case .failure(let error) = await ping.value else {
            Issue.record("expected a failure")
            return
        }
        // The same error as when the close is read first: the attempt failed.
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("connecting failed: could not send the handshake"), "\(error.message)")
    }

    @Test func closeFailsWaitersAndLaterRequests() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let get = harness.send(["GET", "k"], timeout: .seconds(60))
        let server = try await harness.acceptAndHandshake()
        harness.connection.close()
        harness.loop.run()
        guard case .failure(let error) = await get.value else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .clientClosed)
        #expect(server.peerClosed)
        guard case .failure(let later) = await harness.send(["PING"]).value else {
            Issue.record("expected a failure")
            return
        }
        #expect(later.code == .clientClosed)
    }

    @Test func callersOnTheLoopSendWhatOneTurnResumedInOneWrite() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let ping = harness.send(["PING"])
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        _ = server.receiveAll()
        try server.send("+PONG\r\n")
        harness.loop.run()
        _ = try await ping.value.get()
        let (connection, loop) = (harness.connection, harness.loop)
        let deadline = loop.now() + .seconds(1)
        let writes = server.peerWriteCount
        // Three callers on the loop: created together, their first jobs run in one turn.
        let callers = (0..<3).map { index in
            Task(executorPreference: loop) {
                let get = await connection.send(deadline: deadline) { $0.writeRESPCommand(["GET", "k\(index)"]) }
                let set = await connection.send(deadline: deadline) { $0.writeRESPCommand(["SET", "k\(index)", "v"]) }
                return (try get.get().token.stringBytes?.string, try set.get().token.stringBytes?.string)
            }
        }
        loop.run()
        #expect(commands(server.receiveAll()) == [["GET", "k0"], ["GET", "k1"], ["GET", "k2"]])
        #expect(server.peerWriteCount == writes + 1)
        // One read resumes all three; the SETs they send next leave together too.
        try server.send("$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
        loop.run()
        #expect(commands(server.receiveAll()) == [["SET", "k0", "v"], ["SET", "k1", "v"], ["SET", "k2", "v"]])
        #expect(server.peerWriteCount == writes + 2)
        try server.send("+OK\r\n+OK\r\n+OK\r\n")
        loop.run()
        var results: [String?] = []
        for caller in callers {
            let (get, set) = try await caller.value
            results += [get, set]
        }
        #expect(results == ["a", "OK", "b", "OK", "c", "OK"])
    }
}

/// Callers off the loop that one read resumed together send again in one write, not one each.
@Suite(.timeLimit(.minutes(2))) struct PoolWriteBatchingTests {
    @Test func callersResumedTogetherLeaveInOneWriteNotOneEach() async throws {
        let callers = 50
        var harness = Harness(limit: 200)
        defer { harness.finish() }
        let connection = harness.connection
        let deadline = harness.loop.now() + .seconds(30)
        // Each caller sends a GET, and when its reply comes, a second one at once.
        let tasks = (0..<callers).map { index in
            Task {
                let first = await connection.send(deadline: deadline) { $0.writeRESPCommand(["GET", "a\(index)"]) }
                let second = await connection.send(deadline: deadline) { $0.writeRESPCommand(["GET", "b\(index)"]) }
                return (try first.get().token.stringBytes, try second.get().token.stringBytes)
            }
        }
        let server = try await harness.acceptAndHandshake()
        var firsts: [[String]] = []
        for _ in 0..<500 where firsts.count < callers {
            try await harness.settle()
            firsts += commands(server.receiveAll())
        }
        #expect(firsts.count == callers)
        let writesBefore = server.peerWriteCount
        // One read brings every first reply: the loop resumes all fifty callers together.
        try server.send(String(repeating: "$1\r\n1\r\n", count: callers))
        harness.loop.run()
        var seconds: [[String]] = []
        for _ in 0..<500 where seconds.count < callers {
            try await harness.settle()
            seconds += commands(server.receiveAll())
        }
        #expect(seconds.count == callers)
        #expect(Set(seconds.map { $0.last! }) == Set((0..<callers).map { "b\($0)" }))
        // Written at once, each caller would make a write of its own.
        let writes = server.peerWriteCount - writesBefore
        #expect(writes <= callers / 5, "\(writes) writes for \(callers) callers resumed together")
        try server.send(String(repeating: "$1\r\n2\r\n", count: callers))
        harness.loop.run()
        for task in tasks {
            let (first, second) = try await task.value
            #expect(first == "1" && second == "2")
        }
    }
}
