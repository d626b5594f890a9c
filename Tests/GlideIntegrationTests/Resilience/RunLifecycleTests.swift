import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// `run()`, as a service group uses it: cancelling it under load closes the client, with typed
/// errors only and nothing left on the loop; closing the client ends it too.
@Suite(.timeLimit(.minutes(2))) struct RunLifecycleTests {
    /// What the load saw.
    final class Outcomes: Sendable {
        let successes = Atomic<Int>(0)
        let errors = Lock<[GlideError.Code: Int]>([:])
    }

    @Test func cancellingRunUnderLoadClosesTheClientWithTypedErrorsOnly() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        // A loop of its own, so its registrations and timers are this client's only.
        let loop = EpollEventLoop(name: "run-test")
        defer { loop.shutdown() }
        var configuration = server.configuration()
        configuration.eventLoop = loop
        let client = try await GlideClient.create(configuration)
        let running = Task { try await client.run() }
        let outcomes = Outcomes()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<20 {
                    group.addTask {
                        while true {
                            do throws(GlideError) {
                                try await client.set("run:\(task)", "v")
                                outcomes.successes.add(1, ordering: .relaxed)
                            } catch {
                                outcomes.errors.withLock { $0[error.code, default: 0] += 1 }
                                return
                            }
                        }
                    }
                }
            }
        }
        try await Polling.waitUntil("the load runs", timeout: .seconds(10)) { outcomes.successes.load(ordering: .relaxed) > 500 }
        running.cancel()
        try await running.value
        await load.value
        let seen = outcomes.errors.withLock { $0 }
        print("run() cancelled under load: \(outcomes.successes.load(ordering: .relaxed)) requests done, then \(seen)")
        #expect(seen.keys.allSatisfy { $0 == .clientClosed }, "\(seen)")
        #expect(seen.values.reduce(0, +) == 20, "every load task ended on the close")
        #expect(loop.pendingTimerCount == 0)
        #expect(await loop.registrationCount == 0)
        await #expect(throws: GlideError.self) { try await client.ping() }
    }

    @Test func closingTheClientEndsRun() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let running = Task { try await client.run() }
        #expect(try await client.ping() == "PONG")
        await client.close()
        try await running.value
        // And a run() started after the close returns at once.
        try await client.run()
    }
}
