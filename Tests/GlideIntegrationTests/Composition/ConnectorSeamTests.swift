import Glide
import GlideConnection
import GlideTestSupport
import Testing

/// Both ready clients open their streams through the connector a user gives them.
@Suite(.timeLimit(.minutes(5))) struct ConnectorSeamTests {
    @Test func theStandaloneClientsTrafficGoesThroughTheUsersConnector() async throws {
        let server = try await SharedServer.valkey()
        let recorder = TrafficRecorder()
        let client = try await server.client { $0.connector = recorder }
        let key = SharedServer.uniqueKey()
        try await client.set(key, "through-the-seam")
        #expect(try await client.get(key) == "through-the-seam")

        let traffic = recorder.traffic(with: server.address)
        #expect(traffic.connections == 1)
        // The handshake, then the commands, as written; the replies, as read.
        #expect(traffic.sent.string.hasPrefix("*"))
        #expect(traffic.sent.string.contains("HELLO"))
        #expect(traffic.sent.string.contains("\r\n\(key)\r\n$16\r\nthrough-the-seam\r\n"))
        #expect(traffic.received.string.contains("$16\r\nthrough-the-seam\r\n"))
        #expect(traffic.sentCount == traffic.sent.count && traffic.receivedCount == traffic.received.count)
        await client.close()
    }

    @Test func theClusterClientsTrafficToEveryNodeGoesThroughTheUsersConnector() async throws {
        let cluster = try await SharedCluster.valkey()
        let recorder = TrafficRecorder()
        let client = try await cluster.client { $0.connector = recorder }
        // Keys on every shard.
        let keys = (0..<30).map { "\(SharedServer.uniqueKey()):\($0)" }
        for key in keys { try await client.set(key, key) }
        for key in keys { #expect(try await client.get(key) == key) }

        let traffic = recorder.traffic
        for primary in try await cluster.primaries() {
            let node = try #require(traffic[primary.address], "no traffic recorded with \(primary.address)")
            #expect(node.connections >= 1)
            #expect(node.sent.string.contains("SET"))
            #expect(node.received.string.contains("+OK\r\n"))
        }
        // Every key was written through the recorder, to one node or another.
        let written = traffic.values.map(\.sent.string).joined()
        #expect(keys.allSatisfy { written.contains("\r\n\($0)\r\n") })
        await client.close()
    }

    @Test func aStreamTheLoopCannotWaitOnIsATypedConnectionError() async throws {
        struct Detached: GlideConnector {
            func connect(to address: NodeAddress, deadline: Deadline, standard: SocketConnector) async throws(TransportError)
                -> any ByteStream
            { MemoryByteStream.makePair().0 }
        }
        let server = try await SharedServer.valkey()
        let error = await failure {
            _ = try await server.client {
                $0.connector = Detached()
                $0.connectionTimeout = .seconds(1)
            }
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("no descriptor") == true)
    }
}
