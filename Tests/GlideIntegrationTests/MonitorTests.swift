import Foundation
import Glide
import GlideTestSupport
import Testing

/// `MONITOR` against real servers: the lines of commands others send arrive parsed, the stream's
/// end (dropped, or its consumer cancelled) closes the monitor's connection, and a killed
/// connection ends the stream with its error.
@Suite(.timeLimit(.minutes(2))) struct MonitorTests {
    /// Collects lines until one is a `SET` of `key`, in a task of its own.
    static func watch(_ monitor: GlideMonitor, for key: String) -> Task<MonitorLine?, any Error> {
        Task {
            for try await line in monitor where line.command == "SET" && line.arguments.count > 1 && line.arguments[1] == Bytes(key) {
                return line
            }
            return nil
        }
    }

    /// Reads `monitor` to its end, in a task of its own: the error that ended it, if any.
    static func consume(_ monitor: GlideMonitor) -> Task<GlideError?, any Error> {
        Task {
            do {
                for try await _ in monitor {}
                return nil
            } catch let error as GlideError {
                return error
            }
        }
    }

    /// Whether the server has a client in monitor mode (`O` among its flags).
    static func monitoring(_ admin: GlideClient) async throws -> Bool {
        let list = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        return list.split(separator: "\n").contains { line in
            line.split(separator: " ").contains { $0.hasPrefix("flags=") && $0.dropFirst(6).contains("O") }
        }
    }

    @Test func commandsArriveParsedAndDroppingTheStreamClosesItsConnection() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let value = Bytes([0x61, 0x22, 0x0A, 0x00, 0xFF, 0x5C])  // a " \n NUL 0xFF \
        let line: MonitorLine
        do {
            let monitor = try await client.monitor()
            #expect(try await Self.monitoring(admin))
            let watching = Self.watch(monitor, for: key)
            try await admin.set(key, value)
            line = try #require(try await watching.value)
        }
        #expect(line.arguments == [Bytes("SET"), Bytes(key), value])
        #expect(line.database == 0)
        #expect(line.client.hasPrefix("127.0.0.1:"))
        #expect(abs(line.timestamp - Date().timeIntervalSince1970) < 60)
        // The stream is gone (the consumer returned, and the monitor went out of scope): its end
        // closes the connection.
        try await Polling.waitUntil("the monitor's connection closes", timeout: .seconds(5)) { try await !Self.monitoring(admin) }
        await client.close()
        await admin.close()
    }

    @Test func cancellingTheConsumerEndsTheStreamAndClosesItsConnection() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        let monitor = try await client.monitor()
        let consumer = Task {
            var count = 0
            for try await _ in monitor { count += 1 }
            return count
        }
        #expect(try await Self.monitoring(admin))
        consumer.cancel()
        _ = try await consumer.value
        try await Polling.waitUntil("the monitor's connection closes", timeout: .seconds(5)) { try await !Self.monitoring(admin) }
        await client.close()
        await admin.close()
    }

    @Test func closingTheClientEndsItsMonitorsWithClientClosed() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        let monitor = try await client.monitor()
        let consumer = Self.consume(monitor)
        await client.close()
        #expect(try await consumer.value?.code == .clientClosed)
        try await Polling.waitUntil("the monitor's connection closes", timeout: .seconds(5)) { try await !Self.monitoring(admin) }
        await #expect(throws: GlideError.self) { _ = try await client.monitor() }
        await admin.close()
    }

    @Test func aKilledMonitorConnectionEndsTheStreamWithItsError() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        let monitor = try await client.monitor()
        let consumer = Self.consume(monitor)
        _ = try await admin.customCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        let error = try await consumer.value
        #expect(error?.code == .connectionClosed, "\(String(describing: error))")
        // The client's own connection was killed too, and comes back; the monitor doesn't. (A PING
        // that reaches the killed connection before the client reads its end fails as lost.)
        try await Polling.waitUntil("the client's connection is back", timeout: .seconds(10)) {
            (try? await client.ping()) == "PONG"
        }
        #expect(try await !Self.monitoring(admin))
        await client.close()
        await admin.close()
    }

    @Test func onAClusterANodesMonitorSeesTheCommandsOfItsSlots() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let key = "{\(SharedServer.uniqueKey())}"
        let node = try await cluster.primary(forSlot: HashSlot.of(key))
        let monitor = try await client.monitor(node: node.address)
        let watching = Self.watch(monitor, for: key)
        try await client.set(key, "seen")
        let line = try #require(try await watching.value)
        #expect(line.arguments.last == Bytes("seen"))
        await client.close()
    }
}
