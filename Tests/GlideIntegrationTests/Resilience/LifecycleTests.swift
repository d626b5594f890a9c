import GlideTestSupport
import GlideTransport
import Testing

@testable import GlideClient

/// What `close()` promises: nothing of the client keeps running.
@Suite(.timeLimit(.minutes(5))) struct LifecycleTests {
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

    /// A client dropped without `close()`: its `deinit` starts no work of its own; it cancels the
    /// background tasks, timers and connections, which end by themselves. The server sees the
    /// connections go, the loop is left with nothing of the client's, and its parts are released.
    @Test func aStandaloneClientDroppedWithoutCloseLeavesNothingRunning() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let loop = EpollEventLoop(name: "dropped-test")
        defer { loop.shutdown() }
        let parts = Released()
        let name = "dropped-\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await server.client()
        do {
            var configuration = server.configuration {
                $0.heartbeatInterval = .milliseconds(100)
                $0.clientName = name
            }
            configuration.eventLoop = loop
            let client = try await GlideClient.create(configuration)
            parts.supervisor = client.core.supervisor
            parts.connection = client.routing.all[0]
            #expect(try await client.ping() == "PONG")
            #expect(try await Self.connections(named: name, on: admin) == 1)
        }
        try await Polling.waitUntil("the dropped client's parts are released", timeout: .seconds(5)) {
            parts.supervisor == nil && parts.connection == nil
        }
        try await Polling.waitUntil("the server sees its connection go", timeout: .seconds(5)) {
            try await Self.connections(named: name, on: admin) == 0
        }
        #expect(loop.pendingTimerCount == 0)
        #expect(await loop.registrationCount == 0)
        await admin.close()
    }

    /// The same for a cluster client: its topology checks, supervisor and every node's connection.
    @Test func aClusterClientDroppedWithoutCloseLeavesNothingRunning() async throws {
        let cluster = try await SharedCluster.valkey()
        let parts = Released()
        let name = "dropped-cluster-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let client = try await cluster.client { $0.clientName = name }
            parts.supervisor = client.engine.core.supervisor
            parts.topologyManager = client.topologyManager
            _ = try await client.set(SharedServer.uniqueKey(), "v")
        }
        try await Polling.waitUntil("the dropped client's parts are released", timeout: .seconds(5)) {
            parts.supervisor == nil && parts.topologyManager == nil
        }
        for node in cluster.nodes {
            try await Polling.waitUntil("\(node) sees the client's connections go", timeout: .seconds(5)) {
                let list = try await cluster.command(node, ["CLIENT", "LIST"]).stringValue ?? ""
                return !list.contains("name=\(name) ")
            }
        }
    }

    /// How many of `admin`'s server's connections are named `name`.
    static func connections(named name: String, on admin: GlideClient) async throws -> Int {
        let list = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        return list.split(separator: "\n").filter { $0.contains("name=\(name) ") }.count
    }
}

/// Weak references to a client's parts, to see them released.
final class Released: @unchecked Sendable {
    weak var supervisor: SocketCore.Supervisor?
    weak var connection: SocketCore.Connection?
    weak var topologyManager: ClusterEngine<EpollEventLoop, SocketConnector>.Manager?
}
