import Glide
import GlideTestSupport
import Testing

@testable import GlideClient

/// Large values in chunks against a real server: what a read sees when the value changes under
/// it, a missing key, an upload that fails halfway, and the shared connection meanwhile.
@Suite(.timeLimit(.minutes(5))) struct ValueStreamingTests {
    struct UploadFailure: Error {}

    /// `count` chunks of `size` bytes, the i-th filled with the byte i; the `failAt`-th throws.
    struct Chunks: AsyncSequence {
        typealias Element = Bytes
        let count: Int
        let size: Int
        var failAt: Int? = nil
        func makeAsyncIterator() -> Iterator { Iterator(chunks: self) }
        struct Iterator: AsyncIteratorProtocol {
            let chunks: Chunks
            var index = 0
            mutating func next() async throws -> Bytes? {
                guard index < chunks.count else { return nil }
                if index == chunks.failAt { throw UploadFailure() }
                defer { index += 1 }
                return Bytes([UInt8](repeating: UInt8(index), count: chunks.size))
            }
        }
    }

    @Test func aValueGoesUpAndComesBackInChunksAndTheSharedConnectionKeepsServing() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.writeValue(key, from: Chunks(count: 10, size: 1000)) == 10_000)
        #expect(try await client.strlen(key) == 10_000)
        let (chunks, pings) = try await client.readValue(of: key, chunkSize: 3000) { chunks in
            #expect(chunks.exists && chunks.length == 10_000)
            var received: [Bytes] = []
            var pings: [Duration] = []
            // A slow consumer: the client's own connection answers meanwhile.
            for try await chunk in chunks {
                received.append(chunk)
                let started = ContinuousClock.now
                #expect(try await client.ping() == "PONG")
                pings.append(ContinuousClock.now - started)
                try await Task.sleep(for: .milliseconds(20))
            }
            return (received, pings)
        }
        #expect(chunks.map(\.readableBytes) == [3000, 3000, 3000, 1000])
        let joined = chunks.flatMap { $0.withUnsafeReadableBytes { Array($0) } }
        #expect(joined == (0..<10).flatMap { [UInt8](repeating: UInt8($0), count: 1000) })
        #expect(pings.allSatisfy { $0 < .seconds(1) }, "\(pings)")
        // A missing key: no chunks.
        let missing = try await client.readValue(of: key + ":missing") { chunks in
            var count = 0
            for try await _ in chunks { count += 1 }
            return (chunks.exists, count)
        }
        #expect(missing == (false, 0))
        await client.close()
    }

    @Test func aValueChangedWhileItIsReadEndsTheReadWithValueChanged() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let writer = try await server.client()
        let key = SharedServer.uniqueKey()
        try await client.writeValue(key, from: Chunks(count: 4, size: 1000))
        let error = await #expect(throws: GlideError.self) {
            try await client.readValue(of: key, chunkSize: 1000) { chunks in
                var count = 0
                for try await _ in chunks {
                    count += 1
                    if count == 2 { try await writer.set(key, String(repeating: "x", count: 4000)) }
                }
            }
        }
        #expect(error?.code == .valueChanged, "\(String(describing: error))")
        // Unchanged, the same read ends cleanly.
        let length = try await client.readValue(of: key, chunkSize: 1000) { chunks in
            var total = 0
            for try await chunk in chunks { total += chunk.readableBytes }
            return total
        }
        #expect(length == 4000)
        await writer.close()
        await client.close()
    }

    @Test func anUploadThatFailsLeavesTheKeyAsItWasAndNoTemporaryKey() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        try await client.set("document", "the old version")
        await #expect(throws: UploadFailure.self) {
            try await client.writeValue("document", from: Chunks(count: 5, size: 1000, failAt: 3))
        }
        #expect(try await client.get("document") == "the old version")
        #expect(try await client.customCommand(["DBSIZE"]).intValue == 1)
        // A whole upload replaces the value and its expiry, as SET would.
        _ = try await client.customCommand(["PEXPIRE", "document", "100000"])
        try await client.writeValue("document", from: Chunks(count: 2, size: 10))
        #expect(try await client.strlen("document") == 20)
        #expect(try await client.customCommand(["PTTL", "document"]).intValue == -1)
        #expect(try await client.customCommand(["DBSIZE"]).intValue == 1)
        // An empty sequence sets an empty value.
        try await client.writeValue("document", from: Chunks(count: 0, size: 10))
        #expect(try await client.get("document") == "")
        await client.close()
    }

    @Test func aCancelledUploadLeavesTheKeyAsItWasAndNoTemporaryKey() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        try await client.set("document", "the old version")
        let started = Counter()
        /// Chunks that come every 20 ms, counting how many were asked for.
        struct Slow: AsyncSequence {
            typealias Element = Bytes
            let started: Counter
            func makeAsyncIterator() -> Iterator { Iterator(started: started) }
            struct Iterator: AsyncIteratorProtocol {
                let started: Counter
                mutating func next() async throws -> Bytes? {
                    _ = started.next()
                    try await Task.sleep(for: .milliseconds(20))
                    return Bytes([UInt8](repeating: 7, count: 1000))
                }
            }
        }
        let upload = Task { try await client.writeValue("document", from: Slow(started: started)) }
        try await Polling.waitUntil("three chunks went up", timeout: .seconds(10)) { started.value >= 4 }
        upload.cancel()
        await #expect(throws: (any Error).self) { try await upload.value }
        #expect(try await client.get("document") == "the old version")
        #expect(try await client.customCommand(["DBSIZE"]).intValue == 1)
        await client.close()
    }

    @Test func anUploadKeyIsInItsKeysSlot() {
        for key in ["plain", "user:{42}:avatar", "{}odd", "a{b}c{d}", "{x"] {
            let upload = ValueStreaming.uploadKey(for: key)
            #expect(HashSlot.of(upload) == HashSlot.of(key), "\(key) -> \(upload)")
            #expect(upload.contains(":glide-upload:"))
        }
    }
}
