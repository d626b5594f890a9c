import Foundation
import Glide
import GlideConnection
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// Every bad situation gets a typed error, and the client stays usable.
@Suite(.timeLimit(.minutes(5))) struct FailureTests {
    @Test func timedOutRequestIsDiscardedAndLaterRepliesReachTheirCallers() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client { $0.requestTimeout = .seconds(1) }
        let prefix = SharedServer.uniqueKey()
        for index in 0..<10 { try await client.set("\(prefix):\(index)", "value-\(index)") }

        // The server holds BLPOP's reply for 1.6 s; the client, not told it blocks (a
        // CustomCommand without a blocking timeout), gives up after 1 s.
        let started = ContinuousClock.now
        let error = await #expect(throws: GlideError.self) {
            try await client.execute(CustomCommand(["BLPOP", "\(prefix):empty", "1.6"]))
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < TestTiming.bound(.milliseconds(1_550)), "the timeout waited for the reply")
        // Sent behind BLPOP on the same connection, after it timed out: the late BLPOP reply
        // arrives first and must be discarded, each of these getting its own value.
        let followers = (0..<10).map { index in
            Task { try await client.get("\(prefix):\(index)") }
        }
        for (index, follower) in followers.enumerated() {
            #expect(try await follower.value == "value-\(index)")
        }
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func killedServerFailsInFlightRequestsAtOnceAndTheNextRequestReconnects() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        // Short: a request made while the server is down waits this long for a reconnection.
        let client = try await server.client {
            $0.requestTimeout = .milliseconds(500)
            // The BLPOPs below are the shared connection's requests in flight.
            $0.dedicatedConnections.runsBlockingCommands = false
        }
        let key = SharedServer.uniqueKey()
        try await client.set(key, "before")

        // Requests the server will never answer: blocked for 30 s.
        let inFlight = (0..<5).map { index in
            Task { await failure { _ = try await client.customCommand(["BLPOP", "\(key):never:\(index)", "30"]) } }
        }
        // All five handed to the writer (what makes them "sent": they may have run), and the
        // first blocking the connection on the server.
        try await Polling.waitUntil("the five requests are sent", timeout: .seconds(10), interval: .milliseconds(5)) {
            client.routing.all[0].machine.withLock { $0.unsentStart } == 5
        }
        try await server.waitUntilBlocked(1)
        let killedAt = ContinuousClock.now
        await server.kill()
        for request in inFlight {
            let error = await request.value
            #expect(error?.code == .connectionClosed, "\(String(describing: error))")
            #expect(error?.address == server.address.description)
        }
        // At once: long before their 30 s.
        #expect(ContinuousClock.now - killedAt < TestTiming.bound(.seconds(2)))

        // While the server is down, a request waits for a reconnection until its deadline, then
        // fails as never sent, with the reason there was no connection.
        let down = await #expect(throws: GlideError.self) { try await client.get(key) }
        #expect(down?.code == .connectionFailed)
        #expect(down?.transportError?.errno == .connectionRefused)

        // Once it is back, the client reconnects (in the background) and requests succeed.
        try await server.restart()
        try await Polling.waitUntil("the client reconnects", timeout: .seconds(10)) { (try? await client.ping()) == "PONG" }
        #expect(try await client.get(key) == nil)  // a fresh server: no data survived the kill
        try await client.set(key, "after")
        #expect(try await client.get(key) == "after")
        await client.close()
    }

    @Test func wrongPasswordIsATypedAuthenticationErrorWithoutThePassword() async throws {
        let server = try await TestServer.startValkey(["--requirepass", "right-secret"])
        defer { server.stop() }
        let wrong = await #expect(throws: GlideError.self) {
            try await server.client { $0.credentials = ServerCredentials(password: "wrong-secret-9931") }
        }
        #expect(wrong?.code == .authenticationFailed)
        #expect(wrong.map { !"\($0)".contains("wrong-secret-9931") } == true)
        #expect(wrong?.address == server.address.description)

        let none = await #expect(throws: GlideError.self) { try await server.client() }
        #expect(none?.code == .authenticationFailed)

        let unknownUser = await #expect(throws: GlideError.self) {
            try await server.client { $0.credentials = ServerCredentials(password: "right-secret", username: "nobody") }
        }
        #expect(unknownUser?.code == .authenticationFailed)

        let client = try await server.client { $0.credentials = ServerCredentials(password: "right-secret") }
        #expect(try await client.ping() == "PONG")
        let resp2 = try await server.client {
            $0.credentials = ServerCredentials(password: "right-secret")
            $0.protocolVersion = .resp2
        }
        #expect(try await resp2.ping() == "PONG")
        await client.close()
        await resp2.close()
    }

    @Test func credentialsNeverAppearInDescriptions() {
        let credentials = ServerCredentials(password: "hunter2-secret", username: "app")
        #expect(!credentials.description.contains("hunter2-secret"))
        #expect(!credentials.debugDescription.contains("hunter2-secret"))
        #expect(!"\(credentials)".contains("hunter2-secret"))
        #expect(credentials.description.contains("app"))
    }

    @Test func closedPortIsATypedConnectionFailure() async throws {
        // Held refusing for the whole test: a port merely found free could be taken meanwhile by a
        // server another test starts.
        let refusing = try FreePort.refusing()
        let port = refusing.port
        let started = ContinuousClock.now
        // A connection timeout of a minute: a refusal that waited for it would be unmistakable,
        // whatever else loads the machine.
        let error = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: port)]).with {
                    $0.connectionTimeout = .seconds(60)
                })
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.transportError?.errno == .connectionRefused)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
        #expect(ContinuousClock.now - started < .seconds(30), "refused at once, not after the connection timeout")
        withExtendedLifetime(refusing) {}
    }

    /// Times the client's own connects from the inside: each attempt's deadline, when the
    /// connector was called, and how long it took to fail, as the loop saw it (the test's task may
    /// resume much later on a busy machine).
    final class TimedConnector: GlideConnector {
        struct Attempt { let deadline: Deadline, called: Deadline, took: Duration }
        let attempts = Lock<[Attempt]>([])

        func connect(to address: NodeAddress, deadline: Deadline, standard: SocketConnector) async throws(TransportError)
            -> any ByteStream
        {
            let called = Deadline.now()
            do throws(TransportError) {
                return try await standard.connect(deadline: deadline)
            } catch {
                attempts.withLock { $0.append(Attempt(deadline: deadline, called: called, took: Deadline.now() - called)) }
                throw error
            }
        }
    }

    @Test func unresponsiveAddressTimesOutWithinTheConnectionTimeout() async throws {
        let listener = UnresponsiveListener()
        let connector = TimedConnector()
        var configuration = GlideClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: listener.port)]).with {
            $0.connectionTimeout = .milliseconds(300)
        }
        configuration.connector = connector
        let started = ContinuousClock.now
        let startedOnTheLoopsClock = Deadline.now()
        let error = await #expect(throws: GlideError.self) { try await GlideClient.create(configuration) }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .connectionFailed)
        #expect(error?.transportError?.kind == .connectTimedOut)
        #expect(elapsed >= .milliseconds(300))
        // Each attempt was given the configured 300 ms from its start: no deadline lies further
        // than that from the connector's call (which comes after the start), and the first lies
        // at least that far from before `create`. (How long `create` took is printed, not bounded:
        // on a loaded machine the kernel can answer a full backlog's SYN with a cookie, an attempt
        // then fails fast in another way, and `create` waits for the next attempt.)
        let attempts = connector.attempts.withLock { $0 }
        let first = try #require(attempts.first)
        print(
            "unresponsive address: \(attempts.count) attempts, the first given \(first.deadline - first.called) from its call, failed after \(first.took); create returned after \(elapsed)"
        )
        #expect(first.deadline - startedOnTheLoopsClock >= .milliseconds(300))
        for attempt in attempts { #expect(attempt.deadline - attempt.called <= .milliseconds(300)) }
    }

    @Test func badAddressesAreConfigurationOrResolutionErrors() async throws {
        let badPort = await #expect(throws: GlideError.self) {
            try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: 70_000)]))
        }
        #expect(badPort?.code == .configuration)
        let none = await #expect(throws: GlideError.self) {
            try await GlideClient.create(GlideClientConfiguration(addresses: []))
        }
        #expect(none?.code == .configuration)
        let unknown = await #expect(throws: GlideError.self) {
            try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(host: "no-such-host.invalid", port: 6379)]))
        }
        #expect(unknown?.code == .connectionFailed)
        #expect(unknown?.transportError?.kind == .resolutionFailed)
    }

    // The fake-server tests below check how failures are typed, not timing: their generous
    // request timeout leaves room for the reconnection when the whole suite loads the machine.
    @Test func malformedRESPIsATypedProtocolErrorAndTheClientRecovers() async throws {
        // The first connection answers GET with garbage; the one after reconnecting behaves.
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch (command.connection, command.name) {
            case (_, "PING"): return Bytes("+PONG\r\n")
            case (0, "GET"): return Bytes("$5\r\nab?garbage\r\n")
            case (_, "GET"): return Bytes("$5\r\nhello\r\n")
            default: return Bytes("-ERR unexpected\r\n")
            }
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        let error = await #expect(throws: GlideError.self) { try await client.get("key") }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("malformed RESP") == true)
        #expect(try await client.get("key") == "hello")
        // A new connection was made (more when the machine is slow enough for an attempt to time out).
        #expect(fake.connectionCount >= 2)
        await client.close()
    }

    /// A flood of pushes no server sends (GLIDE fixed a denial of service here, #6530): each is
    /// counted and dropped, nothing of them is kept, and the reply behind them reaches its caller
    /// on the same connection.
    @Test func malformedPushesAreCountedAndDroppedAndTheReplyBehindThemArrives() async throws {
        let malformed =
            ">0\r\n" + ">2\r\n:1\r\n:2\r\n" + ">2\r\n$7\r\nmessage\r\n$1\r\nc\r\n" + ">3\r\n$8\r\npmessage\r\n$1\r\np\r\n$1\r\nc\r\n"
        let flood = 2_000
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch command.name {
            case "PING": return Bytes("+PONG\r\n")
            case "GET": return Bytes(String(repeating: malformed, count: flood / 4) + "$5\r\nvalue\r\n")
            default: return Bytes("-ERR unexpected\r\n")
            }
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        let before = client.getStatistics().malformedPushes
        #expect(try await client.get("key") == "value")
        #expect(try await client.get("key") == "value")
        #expect(client.getStatistics().malformedPushes - before == 2 * flood)
        #expect(fake.connectionCount == 1)
        await client.close()
    }

    /// A client limited to 1 MiB replies. An array of three 400 kB strings, each far under the
    /// limit, is refused at its third header; a 2 MB string at its own header. The fake sends
    /// no byte past those headers, so a client that waited for them would time out instead.
    @Test func aReplyOverTheReplyLimitIsRefusedOnItsHeadersAndTheClientGoesOn() async throws {
        let part = "$400000\r\n" + String(repeating: "x", count: 400_000) + "\r\n"
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch (command.connection, command.name) {
            case (_, "PING"): return Bytes("+PONG\r\n")
            case (0, "MGET"): return Bytes("*3\r\n" + part + part + "$400000\r\n")
            case (1, "GET"): return Bytes("$2000000\r\n")
            case (_, "GET"): return Bytes("$2\r\nok\r\n")
            default: return Bytes("-ERR unexpected\r\n")
            }
        }
        defer { fake.stop() }
        var configuration = GlideClientConfiguration(addresses: [fake.address]).with { $0.requestTimeout = .seconds(5) }
        configuration.maximumReplyLength = 1024 * 1024
        let client = try await GlideClient.create(configuration)
        let array = await #expect(throws: GlideError.self) { try await client.mget(["a", "b", "c"]) }
        #expect(array?.code == .protocolError, "\(String(describing: array))")
        #expect(array?.message.contains("a reply longer than the limit of 1048576 bytes") == true)
        let bulk = await #expect(throws: GlideError.self) { try await client.get("key") }
        #expect(bulk?.code == .protocolError, "\(String(describing: bulk))")
        #expect(try await client.get("key") == "ok")
        #expect(fake.connectionCount >= 3)
        await client.close()
    }

    @Test func invalidTypeByteIsAProtocolErrorNamingTheByte() async throws {
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch (command.connection, command.name) {
            case (_, "PING"): return Bytes("+PONG\r\n")
            case (0, "GET"): return Bytes("@oops\r\n")
            default: return Bytes("$2\r\nok\r\n")
            }
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        let error = await #expect(throws: GlideError.self) { try await client.get("key") }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("invalid RESP type byte '@'") == true)
        #expect(try await client.get("key") == "ok")
        await client.close()
    }

    @Test func unsolicitedReplyDropsTheConnectionAndTheNextRequestReconnects() async throws {
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch (command.connection, command.name) {
            case (_, "PING"): return Bytes("+PONG\r\n")
            case (0, "GET"): return Bytes("$1\r\na\r\n+EXTRA\r\n")  // one reply too many
            default: return Bytes("$2\r\nok\r\n")
            }
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        #expect(try await client.get("key") == "a")
        // The stray reply means replies and requests may no longer line up: that connection is dropped.
        try await Polling.waitUntil("the client connects again") { fake.connectionCount >= 2 }
        #expect(try await client.get("key") == "ok")
        // A new connection was made (more when the machine is slow enough for an attempt to time out).
        #expect(fake.connectionCount >= 2)
        await client.close()
    }

    @Test func serverClosingMidRequestFailsAWriteAndReadsAgain() async throws {
        let seen = Lock((gets: 0, sets: 0))
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            // The connection closes on the first GET and on the first SET (nil: close), whichever
            // connection they arrive on; everything else is answered.
            let first = seen.withLock { seen -> Bool in
                switch command.name {
                case "GET":
                    seen.gets += 1
                    return seen.gets == 1
                case "SET":
                    seen.sets += 1
                    return seen.sets == 1
                default: return false
                }
            }
            if first { return nil }
            return command.name == "SET" ? Bytes("+OK\r\n") : Bytes("$3\r\nyes\r\n")
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        // A read lost in flight is read again on the next connection: its caller never sees the loss.
        #expect(try await client.get("key") == "yes")
        // A write lost in flight may have run: it fails, and is not sent again.
        let error = await #expect(throws: GlideError.self) { try await client.set("key", "v") }
        #expect(error?.code == .connectionClosed)
        #expect(seen.withLock { $0.sets } == 1)
        #expect(try await client.get("key") == "yes")
        await client.close()
    }

    @Test func tooManyInflightRequestsAreRefusedWithoutBeingSent() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client {
            $0.inflightRequestsLimit = 1
            // The BLPOP below is the shared connection's one request in flight.
            $0.dedicatedConnections.runsBlockingCommands = false
        }
        let admin = try await server.client()
        let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? 0
        let key = SharedServer.uniqueKey()
        let blocker = Task { try? await client.customCommand(["BLPOP", key, "2"]) }
        // Wait until the server has the connection blocked: the one allowed request is in flight.
        var blocked = false
        for _ in 0..<200 where !blocked {
            let entry = try await admin.customCommand(["CLIENT", "LIST", "ID", String(id)]).stringValue ?? ""
            blocked = entry.contains("cmd=blpop")
            if !blocked { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(blocked)
        let started = ContinuousClock.now
        let error = await #expect(throws: GlideError.self) { try await client.ping() }
        #expect(error?.code == .tooManyInflightRequests)
        #expect(error?.message.contains("limit 1") == true)
        #expect(ContinuousClock.now - started < TestTiming.bound(.seconds(1)), "refused at once, not after waiting")
        // Unblock it, and the client takes requests again.
        _ = try await admin.customCommand(["LPUSH", key, "x"])
        #expect(await blocker.value == .array([.bulkString(Bytes(key)), .bulkString("x")]))
        #expect(try await client.ping() == "PONG")
        await client.close()
        await admin.close()
    }
}

@Suite(.timeLimit(.minutes(5))) struct HandshakeFailureTests {
    @Test func serverClosingDuringTheHandshakeIsAConnectionFailure() async throws {
        // A full server: it accepts the socket, then closes it (as valkey does at maxclients).
        let fake = FakeServer { _ in nil }
        defer { fake.stop() }
        // The attempt's own timer is not what this test is about: far away, it can't end the
        // attempt before the close does, however late the fake server's thread runs on a loaded
        // machine (with 2 s it once did, and the error was the handshake's timeout instead).
        let error = await #expect(throws: GlideError.self) {
            try await GlideClient.create(
                GlideClientConfiguration(addresses: [fake.address]).with {
                    $0.connectionTimeout = .seconds(60)
                })
        }
        // Whether the close reaches the client's write of HELLO or its read first, it is the
        // attempt that failed, and the message says so.
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("connecting failed") == true, "\(error?.message ?? "no error")")
    }

    @Test func maxClientsReachedIsAConnectionFailure() async throws {
        let server = try await TestServer.startValkey(["--maxclients", "1"])
        defer { server.stop() }
        // The harness's readiness probes connect too, and the server frees their slot when it
        // reads their close, which may come after this test's first connection: the first
        // client is the first connection the server accepts once nothing else holds the slot.
        let first = try await Self.firstClient(of: server)
        let error = await #expect(throws: GlideError.self) { try await server.client() }
        #expect(error?.code == .connectionFailed, "\(String(describing: error))")
        #expect(try await first.ping() == "PONG")
        await first.close()
    }

    /// A client of `server`, tried again while the server refuses it for a slot another
    /// connection is still releasing (bounded: 10 s).
    static func firstClient(of server: TestServer) async throws -> GlideClient {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try await server.client()
            } catch let error as GlideError where error.code == .connectionFailed && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct DeadPeerTests {
    @Test func serverThatStopsAnsweringIsDroppedAndTheNextRequestReconnects() async throws {
        // Connection 0 completes the handshake, then swallows every GET: a black hole, no reset.
        let fake = FakeServer { command in
            if let reply = FakeServer.handshakeReply(command) { return reply }
            switch (command.connection, command.name) {
            case (_, "PING"): return Bytes("+PONG\r\n")
            case (0, _): return Bytes()  // nothing written back, the connection stays open
            default: return Bytes("$5\r\nalive\r\n")
            }
        }
        defer { fake.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [fake.address]).with { $0.requestTimeout = .milliseconds(200) })
        let first = await #expect(throws: GlideError.self) { try await client.get("k") }
        #expect(first?.code == .timeout)
        // Within the grace period the connection is kept; past it, it is dropped and replaced.
        var reply: String?
        for _ in 0..<60 where reply == nil {
            try await Task.sleep(for: .milliseconds(100))
            reply = try? await client.get("k")
        }
        #expect(reply == "alive")
        // A new connection was made (more when the machine is slow enough for an attempt to time out).
        #expect(fake.connectionCount >= 2)
        await client.close()
    }
}
