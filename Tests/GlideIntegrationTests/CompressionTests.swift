import Foundation
import Glide
import GlideTestSupport
import Testing

/// Transparent compression against real servers: what is stored, what reads back, both clients,
/// the limit on expansion, and values GLIDE Python (pip `valkey-glide` 2.6) writes and reads.
@Suite(.timeLimit(.minutes(3))) struct CompressionTests {
    /// A JSON-ish document of about 1.6 KB: the shape compression is for.
    static let document = String(repeating: #"{"user":"ada","roles":["admin","ops"],"active":true,"score":42},"#, count: 25)

    static func isCompressed(_ stored: Bytes?) -> Bool {
        guard let stored, stored.count >= 5 else { return false }
        return Array(stored.prefix(3)) == [0, 1, 2]
    }

    @Test(arguments: [CompressionConfiguration.Algorithm.zstd, .lz4])
    func valuesAreStoredCompressedAndReadBackWhole(algorithm: CompressionConfiguration.Algorithm) async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client { $0.compression = CompressionConfiguration(algorithm: algorithm) }
        let plain = try await server.client()
        let key = SharedServer.uniqueKey()
        try await client.set(key, Self.document)
        // Stored compressed, in GLIDE's format, and much smaller.
        let stored = try await plain.get(key, as: Bytes.self)
        #expect(Self.isCompressed(stored))
        #expect(stored.map { Array($0.dropFirst(4).prefix(1)) } == [algorithm.rawValue])
        #expect(try await plain.strlen(key) < Self.document.utf8.count / 4)
        // Read back whole, by every path that reads a value.
        #expect(try await client.get(key) == Self.document)
        #expect(try await client.customCommand(["GET", key]) == .bulkString(Bytes(Self.document)))
        #expect(try await client.execute(GET(key).decoding(as: String?.self), readFrom: .primary) == Self.document)
        #expect(try await client.getex(key, expiry: .seconds(60)) == Self.document)
        // Small values are stored as they are; values written without compression read fine.
        try await client.set(key + ":small", "hi")
        #expect(try await plain.get(key + ":small") == "hi")
        try await plain.set(key + ":plain", Self.document)
        #expect(try await client.get(key + ":plain") == Self.document)
        // Several at once, mixed.
        try await client.mset([(key + ":a", Self.document), (key + ":b", "short")])
        #expect(Self.isCompressed(try await plain.get(key + ":a", as: Bytes.self)))
        #expect(
            try await client.mget([key + ":a", key + ":b", key + ":plain", key + ":none"]) == [Self.document, "short", Self.document, nil])
        _ = try await client.customCommand(["SETEX", key + ":ex", "60", Self.document])
        #expect(Self.isCompressed(try await plain.get(key + ":ex", as: Bytes.self)))
        #expect(try await client.getdel(key + ":ex") == Self.document)
        // Commands on the stored bytes see them as stored.
        #expect(try await client.strlen(key) == (try await plain.strlen(key)))
        await client.close()
        await plain.close()
    }

    @Test func aClusterClientCompressesSplitWritesAndReads() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client { $0.compression = CompressionConfiguration() }
        let plain = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<12).map { "\(prefix):\($0)" }
        // MSET and MGET across slots: split by node, each part compressed and decompressed.
        try await client.mset(keys.map { ($0, Self.document + $0) })
        for key in keys { #expect(Self.isCompressed(try await plain.get(key, as: Bytes.self))) }
        #expect(try await client.mget(keys) == keys.map { Self.document + $0 })
        try await client.set(keys[0], Self.document)
        #expect(try await client.get(keys[0]) == Self.document)
        #expect(try await client.customCommand(["GET", keys[0]]).singleValue == .bulkString(Bytes(Self.document)))
        #expect(
            try await client.execute(GET(keys[0]), route: .slotKey(BulkString(keys[0]), .primary)).singleValue
                == Bytes(Self.document))
        await client.close()
        await plain.close()
    }

    @Test func aValueThatWouldExpandPastTheLimitFailsAndLeavesTheClientUsable() async throws {
        let server = try await SharedServer.valkey()
        let writer = try await server.client { $0.compression = CompressionConfiguration() }
        let reader = try await server.client { $0.compression = CompressionConfiguration(maximumDecompressedSize: 16 << 10) }
        let key = SharedServer.uniqueKey()
        try await writer.set(key, String(repeating: "a", count: 1 << 20))
        let error = await #expect(throws: GlideError.self) { try await reader.get(key) }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("maximumDecompressedSize") == true, "\(String(describing: error))")
        #expect(try await reader.get(key + ":none") == nil)
        #expect(try await reader.ping() == "PONG")
        await writer.close()
        await reader.close()
    }

    @Test func invalidSettingsAreRefusedAtCreate() async throws {
        let server = try await SharedServer.valkey()
        let error = await #expect(throws: GlideError.self) {
            try await server.client { $0.compression = CompressionConfiguration(algorithm: .lz4, level: 40) }
        }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("lz4") == true)
    }

    // MARK: GLIDE Python

    /// Runs GLIDE Python against `port`: `write` sets `key` to the bytes of `file`, `read` writes
    /// `key`'s value into `file`; with compression on, `algorithm`'s.
    /// The process runs on a thread of its own: waiting for it on the cooperative pool would take
    /// one of its two threads from every other test for the process's second or two.
    static func glidePython(_ mode: String, port: Int, key: String, file: String, algorithm: String) async throws {
        let script = """
            import asyncio, sys
            from glide import GlideClient, GlideClientConfiguration, NodeAddress, CompressionConfiguration, CompressionBackend
            async def main(mode, port, key, path, algorithm):
                compression = CompressionConfiguration(enabled=True, backend=getattr(CompressionBackend, algorithm.upper()))
                client = await GlideClient.create(GlideClientConfiguration([NodeAddress("127.0.0.1", int(port))], compression=compression))
                if mode == "write":
                    await client.set(key, open(path, "rb").read())
                else:
                    value = await client.get(key)
                    open(path, "wb").write(value if value is not None else b"<missing>")
                await client.close()
            asyncio.run(main(*sys.argv[1:]))
            """
        let outcome = try await offThePool {
            try Command.run(try ServerBinaries.glidePython(), ["-c", script, mode, String(port), key, file, algorithm], keepErrors: true)
        }
        guard outcome.status == 0 else { throw GlidePythonFailed(output: outcome.output) }
    }

    struct GlidePythonFailed: Error, CustomStringConvertible {
        let output: String
        var description: String { "GLIDE Python failed: \(output)" }
    }

    @Test(arguments: [CompressionConfiguration.Algorithm.zstd, .lz4])
    func glidePythonAndThisClientReadEachOthersCompressedValues(algorithm: CompressionConfiguration.Algorithm) async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client { $0.compression = CompressionConfiguration(algorithm: algorithm) }
        let plain = try await server.client()
        let key = SharedServer.uniqueKey()
        let name = algorithm == .zstd ? "zstd" : "lz4"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("glide-interop-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: file) }

        // GLIDE Python writes; this client reads.
        let fromPython = Self.document + " from python"
        try fromPython.write(toFile: file, atomically: false, encoding: .utf8)
        try await Self.glidePython("write", port: server.port, key: key + ":py", file: file, algorithm: name)
        let stored = try await plain.get(key + ":py", as: Bytes.self)
        #expect(Self.isCompressed(stored), "GLIDE Python stored it compressed")
        #expect(stored.map { Array($0.dropFirst(4).prefix(1)) } == [algorithm.rawValue])
        #expect(try await client.get(key + ":py") == fromPython)

        // This client writes; GLIDE Python reads.
        let fromSwift = Self.document + " from swift"
        try await client.set(key + ":swift", fromSwift)
        #expect(Self.isCompressed(try await plain.get(key + ":swift", as: Bytes.self)))
        try await Self.glidePython("read", port: server.port, key: key + ":swift", file: file, algorithm: name)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == fromSwift)
        await client.close()
        await plain.close()
    }
}
