import Foundation
import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct TransportIntegrationTests {
    @Test func connectsOverIPv4IPv6AndHostNames() async throws {
        let server = try await TestServer.startValkey(["--bind", "127.0.0.1", "::1"])
        defer { server.stop() }
        for host in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            let client = try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(host: host, port: server.port)]))
            #expect(try await client.ping(BulkString(host)) == host)
            await client.close()
        }
    }

    @Test func connectsOverAUnixDomainSocket() async throws {
        // In the server's own directory, so the socket file goes with it.
        let server = try await TestServer.startValkey(["--unixsocket", "{dir}/valkey.sock", "--unixsocketperm", "700"])
        defer { server.stop() }
        let path = server.directory.appendingPathComponent("valkey.sock").path
        let client = try await GlideClient.create(GlideClientConfiguration(addresses: [.unixSocket(path)]))
        #expect(try await client.ping() == "PONG")
        let info = try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        #expect(info.contains(path), "\(info)")
        await client.close()
    }

    @Test func lazyConnectWaitsForTheFirstRequest() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client { $0.lazyConnect = true }
        let name = "lazy-\(UUID().uuidString.prefix(6))"
        let admin = try await server.client()
        let before = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        #expect(!before.contains(name))
        _ = try await client.customCommand(["CLIENT", "SETNAME", name])
        let after = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        #expect(after.contains(name))
        await client.close()
        await admin.close()
    }
}

@Suite(.timeLimit(.minutes(5))) struct LargeValueTests {
    @Test func sixteenMebibyteValueRoundTrips() async throws {
        let client = try await SharedServer.valkey().client { $0.requestTimeout = .seconds(10) }
        let key = SharedServer.uniqueKey()
        var generator = SystemRandomNumberGenerator()
        var value = Bytes(capacity: 16 * 1024 * 1024)
        for _ in 0..<(16 * 1024 * 1024 / 8) {
            var word = generator.next()
            withUnsafeBytes(of: &word) { value.writeBytes($0) }
        }
        try await client.set(key, value)
        let read: Bytes? = try await client.get(key, as: Bytes.self)
        #expect(read?.count == value.count)
        #expect(read == value)
        #expect(try await client.customCommand(["STRLEN", key]).intValue == 16 * 1024 * 1024)
        // Small requests after the big one still line up.
        #expect(try await client.ping() == "PONG")
        _ = try await client.del([key])
        await client.close()
    }

    /// Against a real server: with a 1 MiB reply limit, a 900 kB value reads, two 600 kB values in
    /// one `MGET` don't (each is under the limit, the reply is not), and the client goes on.
    @Test func theReplyLimitCountsTheWholeReply() async throws {
        let client = try await SharedServer.valkey().client {
            $0.requestTimeout = .seconds(10)
            $0.maximumReplyLength = 1024 * 1024
        }
        let prefix = SharedServer.uniqueKey()
        try await client.set("\(prefix):a", Bytes([UInt8](repeating: 0x61, count: 600_000)))
        try await client.set("\(prefix):b", Bytes([UInt8](repeating: 0x62, count: 600_000)))
        try await client.set("\(prefix):c", Bytes([UInt8](repeating: 0x63, count: 900_000)))
        #expect(try await client.get("\(prefix):c", as: Bytes.self)?.count == 900_000)
        let error = await #expect(throws: GlideError.self) { try await client.mget(["\(prefix):a", "\(prefix):b"]) }
        #expect(error?.code == .protocolError, "\(String(describing: error))")
        #expect(try await client.get("\(prefix):a", as: Bytes.self)?.count == 600_000)
        #expect(try await client.ping() == "PONG")
        _ = try await client.del(["\(prefix):a", "\(prefix):b", "\(prefix):c"])
        await client.close()
    }

    @Test func manyLargeValuesConcurrently() async throws {
        let client = try await SharedServer.valkey().client { $0.requestTimeout = .seconds(10) }
        let prefix = SharedServer.uniqueKey()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let value = Bytes([UInt8](repeating: UInt8(task), count: 300_000 + task))
                    try await client.set("\(prefix):\(task)", value)
                    let read: Bytes? = try await client.get("\(prefix):\(task)", as: Bytes.self)
                    #expect(read == value)
                }
            }
            try await group.waitForAll()
        }
        await client.close()
    }
}
