import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// Network faults between the client and a real server, through `FaultProxy`: a black hole,
/// connections reset, latency with jitter, a slow link. Under each, callers see typed errors only and never a
/// reply meant for another request; after the fault, requests succeed again within a second.
@Suite(.timeLimit(.minutes(5))) struct NetworkFaultTests {
    /// The kinds of error a network fault may give a caller.
    static let faultCodes: Set<GlideError.Code> = [.timeout, .connectionClosed, .connectionFailed]

    func client(through proxy: FaultProxy) async throws -> GlideClient {
        try await GlideClient.create(
            GlideClientConfiguration(addresses: [proxy.address]).with { $0.requestTimeout = .milliseconds(500) })
    }

    @Test func aBlackHoleGivesTypedErrorsAndTheClientIsBackWithinASecondOfTheHeal() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try await client(through: proxy)
        let load = FaultLoad()
        let running = load.run(client)
        try await Polling.waitUntil("the load runs") { load.successes.load(ordering: .relaxed) > 50 }
        proxy.set(.blackhole)
        // Longer than a request's timeout and its stale grace together: the client gives the
        // connection up and tries new ones into the black hole.
        try await Task.sleep(for: .seconds(3))
        let before = load.errors.withLock { $0.values.reduce(0, +) }
        proxy.set(.pass)
        let recovery = try await load.backAfterHeal("a request succeeds after the heal")
        await load.finish(running)
        let errors = load.errors.withLock { $0 }
        print(
            "black hole 3 s: \(before) typed errors during it (\(errors)), back \(recovery) after the heal, \(proxy.connectionCount) connections"
        )
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(before > 0, "the black hole was felt")
        #expect(Set(errors.keys).isSubset(of: Self.faultCodes), "\(errors)")
        #expect(recovery < TestTiming.bound(.seconds(1)))
        await client.close()
    }

    @Test func resetConnectionsFailOnlyWhatWasInFlightAndTheClientIsBackWithinASecond() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try await client(through: proxy)
        let load = FaultLoad()
        let running = load.run(client)
        try await Polling.waitUntil("the load runs") { load.successes.load(ordering: .relaxed) > 50 }
        proxy.resetAll()
        let recovery = try await load.backAfterHeal("a request succeeds after the reset")
        let succeeded = load.successes.load(ordering: .relaxed)
        try await Polling.waitUntil("the load goes on") { load.successes.load(ordering: .relaxed) > succeeded + 50 }
        await load.finish(running)
        let errors = load.errors.withLock { $0 }
        print("reset: \(errors), back \(recovery) after it, \(proxy.connectionCount) connections")
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(Set(errors.keys).isSubset(of: Self.faultCodes), "\(errors)")
        #expect(proxy.connectionCount >= 2, "the client reconnected")
        #expect(recovery < TestTiming.bound(.seconds(1)))
        await client.close()
    }

    /// A peer that vanishes without a FIN, on an idle connection: the heartbeat's `PING` goes
    /// unanswered, and the connection is given up once that reply is overdue by the stale grace.
    /// A check that finds traffic since the last one sends no `PING`, so with a reply just before
    /// the peer vanished, the client gives the connection up (and tries a new one) within two
    /// heartbeats + the check's timeout + the grace.
    @Test func aPeerThatVanishesSilentlyIsFoundByTheHeartbeatAndReplaced() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let heartbeat = Duration.milliseconds(500)
        var configuration = GlideClientConfiguration(addresses: [proxy.address]).with {
            $0.requestTimeout = .milliseconds(500)
            $0.heartbeatInterval = heartbeat
        }
        let timeline = Timeline()
        configuration.observability = GlideObservability(logger: timeline)
        let client = try await GlideClient.create(configuration)
        #expect(try await client.ping() == "PONG")
        let connections = proxy.connectionCount
        proxy.set(.blackhole)
        timeline.mark("vanished")
        try await Polling.waitUntil("the client tries a new connection", timeout: .seconds(15), interval: .milliseconds(5)) {
            proxy.connectionCount > connections
        }
        // When the client gave the connection up, from its own log: the poll above also waits for
        // the proxy's thread and the test's task to be scheduled on a loaded machine.
        let found = try #require(timeline.firstEntry(containing: "lost", after: "vanished", since: "vanished"))
        // The check's timeout and the grace are at least 1 s and 2 s (`ClientOptions`).
        let bound = heartbeat * 2 + .seconds(1) + .seconds(2)
        print("vanished peer: the connection given up \(found) after it went silent (bound \(bound))")
        #expect(found <= TestTiming.bound(bound + .milliseconds(500)))
        proxy.set(.pass)
        try await Polling.waitUntil("the client answers again", timeout: .seconds(10)) { (try? await client.ping()) == "PONG" }
        await client.close()
    }

    /// A 1 MB/s link: a 2 MB value takes seconds to cross it. A read given less time than that
    /// times out, and its reply, still arriving, must reach nobody: the small reads queued behind
    /// it on the same connection, and the ones after the link is fast again, get their own values.
    @Test func aSlowLinkTimesOutTheLargeReadAndGivesNoReplyToTheWrongCaller() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [proxy.address]).with {
                $0.requestTimeout = .seconds(10)
            })
        let key = SharedServer.uniqueKey()
        let large = Bytes([UInt8](repeating: 0x6C, count: 2_000_000))
        try await client.set("\(key):large", large)
        for index in 0..<5 { try await client.set("\(key):\(index)", "small-\(index)") }
        proxy.set(.bandwidth(bytesPerSecond: 1_000_000))
        // Whole, given the time: at least the 2 s the link needs.
        let started = ContinuousClock.now
        #expect(try await client.get("\(key):large", as: Bytes.self) == large)
        let crossing = ContinuousClock.now - started
        #expect(crossing >= .milliseconds(1_500), "2 MB crossed a 1 MB/s link in \(crossing)")
        // Not given the time: a typed timeout, and the small reads behind it get their own values.
        let behind = Task {
            try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<5 { group.addTask { (index, try await client.get("\(key):\(index)")) } }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
        }
        let error = await #expect(throws: GlideError.self) {
            _ = try await client.customCommand(["GET", "\(key):large"], timeout: .milliseconds(300))
        }
        #expect(error?.code == .timeout, "\(String(describing: error))")
        let smalls = try await behind.value
        #expect(smalls == Dictionary(uniqueKeysWithValues: (0..<5).map { ($0, "small-\($0)") }))
        proxy.set(.pass)
        for index in 0..<5 { #expect(try await client.get("\(key):\(index)") == "small-\(index)") }
        #expect(try await client.get("\(key):large", as: Bytes.self) == large)
        print("slow link: 2 MB crossed 1 MB/s in \(crossing); the timed-out read's reply reached nobody")
        await client.close()
    }

    @Test func latencyWithJitterKeepsEveryReplyWithItsCaller() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let proxy = FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [proxy.address]).with {
                $0.requestTimeout = .seconds(5)
            })
        proxy.set(.latency(.milliseconds(20), jitter: .milliseconds(15)))
        let load = FaultLoad()
        let running = load.run(client)
        try await Polling.waitUntil("200 requests answered") { load.successes.load(ordering: .relaxed) >= 200 }
        await load.finish(running)
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(load.errors.withLock { $0 }.isEmpty, "\(load.errors.withLock { $0 })")
        await client.close()
    }
}
