import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// Real faults on a real server: a crash and restart, a freeze, a killed connection, a long
/// command. Each test starts its own server, so its faults touch nobody else.
@Suite(.timeLimit(.minutes(5))) struct ReconnectionTests {
    /// The line of `CLIENT LIST` for the client called `name`, if it is connected.
    static func clientLine(_ admin: GlideClient, name: String) async throws -> String? {
        let list = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        return list.split(separator: "\n").map(String.init).first { $0.contains(" name=\(name) ") }
    }

    @Test func aKilledServerRestartedOnItsPortIsReconnectedInTheBackgroundWithItsSettings() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let name = "restart-\(UUID().uuidString.prefix(6))"
        let client = try await server.client {
            $0.clientName = name
            $0.databaseID = 2
        }
        try await client.select(5)
        let blocked = Task { await failure { _ = try await client.blpop(["never"], timeout: 30) } }
        try await server.waitUntilBlocked(1)
        let killed = ContinuousClock.now
        await server.kill()
        // The request in flight fails at once: it may have run.
        let error = await blocked.value
        #expect(error?.code == .connectionClosed, "\(String(describing: error))")
        #expect(ContinuousClock.now - killed < TestTiming.bound(.seconds(2)))

        try await server.restart()
        let restarted = ContinuousClock.now
        // No request goes through the client: its supervisor reconnects by itself, with the
        // client name and the database selected last.
        let admin = try await server.client()
        try await Polling.waitUntil("the client reconnected by itself", timeout: .seconds(10), interval: .milliseconds(10)) {
            try await Self.clientLine(admin, name: name)?.contains(" db=5 ") == true
        }
        let reconnected = ContinuousClock.now
        print("restart: reconnected \(reconnected - restarted) after the restart, \(reconnected - killed) after the kill")
        try await client.set("after", "restart")
        #expect(try await admin.customCommand(["SELECT", "5"]).stringValue == "OK")
        #expect(try await admin.get("after") == "restart")
        await client.close()
        await admin.close()
    }

    @Test func aRequestWaitsForTheReconnectionUpToItsDeadlineAndNoLonger() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.requestTimeout = .milliseconds(300) }
        await server.kill()
        // Down: the request waits its 300 ms for a connection, then fails as never sent, saying why.
        let started = ContinuousClock.now
        let down = await #expect(throws: GlideError.self) { try await client.get("k") }
        let waited = ContinuousClock.now - started
        // Why there was no connection is the last attempt's outcome: refused, unless the machine
        // was too busy for any attempt to end since the kill (the first may meet the dying server).
        #expect(down?.code == .connectionFailed, "\(String(describing: down))")
        #expect(down?.message.contains("not sent") == true, "\(String(describing: down))")
        #expect(waited >= .milliseconds(300) && waited < TestTiming.bound(.seconds(2)), "\(waited)")
        // Back: a request made while the client reconnects waits for it and succeeds.
        try await server.restart()
        var answered = false
        for _ in 0..<50 where !answered {
            answered = (try? await client.ping()) == "PONG"
        }
        #expect(answered)
        await client.close()
    }

    @Test func aKilledConnectionIsReopenedInTheBackgroundAndInFlightRequestsFailAtOnce() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let name = "killed-\(UUID().uuidString.prefix(6))"
        let client = try await server.client {
            $0.clientName = name
            // The BLPOP below is the request in flight on the shared connection the test kills.
            $0.dedicatedConnections.runsBlockingCommands = false
        }
        try await client.select(7)
        let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? 0
        let blocked = Task { await failure { _ = try await client.blpop(["never"], timeout: 30) } }
        try await server.waitUntilBlocked(1)
        let admin = try await server.client()
        let killed = ContinuousClock.now
        #expect(try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)]).intValue == 1)
        #expect(await blocked.value?.code == .connectionClosed)
        try await Polling.waitUntil("the client reconnected by itself", timeout: .seconds(10), interval: .milliseconds(10)) {
            guard let line = try await Self.clientLine(admin, name: name) else { return false }
            return line.contains(" db=7 ") && !line.hasPrefix("id=\(id) ")
        }
        print("CLIENT KILL: reconnected \(ContinuousClock.now - killed) after the kill")
        #expect(try await client.customCommand(["CLIENT", "ID"]).intValue != id)
        await client.close()
        await admin.close()
    }

    @Test func aFrozenServerGivesTypedTimeoutsAndNoReplyReachesTheWrongCaller() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.requestTimeout = .milliseconds(250) }
        let prefix = SharedServer.uniqueKey()
        // Seeded by a client with room to spare: the 250 ms timeout is for the freeze, and a
        // loaded machine (a CI run, large values moving in a parallel test) may take longer.
        let seeder = try await server.client { $0.requestTimeout = .seconds(10) }
        for index in 0..<50 { try await seeder.set("\(prefix):\(index)", "value-\(index)") }
        await seeder.close()
        let tally = Tally()
        let stop = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    while !stop.isSet {
                        do throws(GlideError) {
                            let value = try await client.get("\(prefix):\(index)")
                            tally.record(value == "value-\(index)" ? "ok" : "wrong caller: \(value ?? "nil") for \(index)")
                        } catch {
                            tally.record(error.code.description)
                        }
                    }
                }
            }
            try await Polling.waitUntil("the reads succeed") { tally.counts["ok", default: 0] > 20 }
            server.freeze()
            try await Task.sleep(for: .milliseconds(1500))
            server.thaw()
            try await Task.sleep(for: .milliseconds(500))
            stop.set()
            try await group.waitForAll()
        }
        let counts = tally.counts
        print("SIGSTOP 1.5 s under 50 tasks: \(counts.sorted { $0.key < $1.key })")
        #expect(counts.keys.allSatisfy { $0 == "ok" || $0 == GlideError.Code.timeout.description }, "\(counts)")
        #expect(counts[GlideError.Code.timeout.description, default: 0] > 0)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func aCommandBeyondTheRequestTimeoutTimesOutAndLaterRepliesReachTheirCallers() async throws {
        let server = try await TestServer.startValkey(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let client = try await server.client { $0.requestTimeout = .milliseconds(250) }
        let prefix = SharedServer.uniqueKey()
        for index in 0..<10 { try await client.set("\(prefix):\(index)", "value-\(index)") }
        // Its reply comes a second after it was sent, 250 ms past its deadline: always a timeout
        // (a deadline passed is honoured before a late reply is read, even after a stall).
        let sleep = await #expect(throws: GlideError.self) { try await client.customCommand(["DEBUG", "SLEEP", "1"]) }
        #expect(sleep?.code == .timeout)
        // Sent behind the sleep on the same connection: a timeout while the server still sleeps,
        // or, sent after it woke, its own value; never another reply.
        do {
            #expect(try await client.get("\(prefix):0") == "value-0")
        } catch {
            #expect(error.code == .timeout)
        }
        // Once the server wakes, the late replies are dropped and each caller gets its own.
        try await Polling.waitUntil("the server answers again", timeout: .seconds(5)) { (try? await client.ping()) == "PONG" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<10 {
                group.addTask {
                    let value = try await client.get("\(prefix):\(index)")
                    #expect(value == "value-\(index)")
                }
            }
            try await group.waitForAll()
        }
        await client.close()
    }
}

/// Counts outcomes from many tasks.
final class Tally: Sendable {
    private let state = Lock<[String: Int]>([:])

    func record(_ outcome: String) {
        state.withLock { $0[outcome, default: 0] += 1 }
    }

    var counts: [String: Int] { state.withLock { $0 } }
}

/// A flag tasks poll to stop.
final class Flag: Sendable {
    private let state = Atomic<Bool>(false)
    var isSet: Bool { state.load(ordering: .relaxed) }
    func set() { state.store(true, ordering: .relaxed) }
}

/// A counter tasks share.
final class Counter: Sendable {
    private let state = Atomic<Int>(0)
    var value: Int { state.load(ordering: .relaxed) }
    /// Counts one more and returns the new value.
    func next() -> Int { state.wrappingAdd(1, ordering: .relaxed).newValue }
}
