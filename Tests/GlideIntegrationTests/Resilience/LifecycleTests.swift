import GlideTestSupport
import GlideTransport
import Testing

@testable import GlideClient

/// What `close()` promises: nothing of the client keeps running.
@Suite struct LifecycleTests {
    @Test func closeEndsEveryTaskAndTimerAndResumesEveryWaiter() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        // A loop of its own, so its timers and registrations are this client's only.
        let loop = EpollEventLoop(name: "close-test")
        defer { loop.shutdown() }
        let parts = Released()
        do {
            var configuration = server.configuration { $0.heartbeatInterval = .milliseconds(100) }
            configuration.eventLoop = loop
            let client = try await GlideClient.create(configuration)
            parts.supervisor = client.core.supervisor
            parts.connection = client.routing.all[0]
            let blocked = Task { await failure { _ = try await client.blpop(["never"], timeout: 30) } }
            try await Task.sleep(for: .milliseconds(300))  // heartbeats and checks come and go
            await client.close()
            #expect(await blocked.value?.code == .clientClosed)
            #expect(loop.pendingTimerCount == 0)
            #expect(await loop.registrationCount == 0)
            let later = await #expect(throws: GlideError.self) { try await client.ping() }
            #expect(later?.code == .clientClosed)
        }
        // The client is gone, and nothing (no task, no timer) kept its parts alive.
        try await Polling.waitUntil("the client's parts are released", timeout: .seconds(5)) {
            parts.supervisor == nil && parts.connection == nil
        }
    }
}

/// Weak references to a client's parts, to see them released.
final class Released: @unchecked Sendable {
    weak var supervisor: SocketCore.Supervisor?
    weak var connection: SocketCore.Connection?
}
