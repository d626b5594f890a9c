import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// The client-side cache against real servers: a writer racing 50 cached readers, the byte
/// limit, invalidations by the client's own writes and by a flush, a reconnection, RESP2, and a
/// cluster where each node tracks its own keys.
@Suite(.timeLimit(.minutes(5))) struct ClientSideCacheIntegrationTests {
    static let cache = ClientSideCache(maximumBytes: 1 << 20)

    /// Another client writes increasing versions of 16 keys for 20 s while 50 tasks read them
    /// through the cache, with the server tracking the keys read or broadcasting the keys' prefix.
    /// No read may return a version older than the last one acknowledged before the read began.
    @Test(arguments: [false, true])
    func readsThroughTheCacheNeverReturnAValueOlderThanAnAcknowledgedWrite(broadcast: Bool) async throws {
        let server = try await SharedServer.valkey()
        let prefix = SharedServer.uniqueKey()
        var cache = Self.cache
        if broadcast { cache.tracking = .broadcast(prefixes: [prefix + ":"]) }
        let reader = try await server.client { [cache] in $0.clientSideCache = cache }
        let writer = try await server.client()
        let keys = (0..<16).map { "\(prefix):\($0)" }
        for key in keys { try await writer.set(key, "0") }
        let acknowledged = Versions(count: keys.count)
        let stale = Counter()
        let reads = Counter()
        let done = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var version = 0
                while !done.isSet {
                    version += 1
                    for (index, key) in keys.enumerated() {
                        try await writer.set(key, String(version))
                        acknowledged.store(version, at: index)
                    }
                }
            }
            for task in 0..<50 {
                group.addTask {
                    var index = task % keys.count
                    while !done.isSet {
                        index = (index + 7) % keys.count
                        let floor = acknowledged.load(at: index)
                        let value: String? = try await reader.get(keys[index])
                        if Int(value ?? "") ?? -1 < floor { _ = stale.next() }
                        _ = reads.next()
                        // A hit may not suspend: let the writer and the clock run.
                        await Task.yield()
                    }
                }
            }
            try await Task.sleep(for: .seconds(20))
            done.set()
            try await group.waitForAll()
        }
        let metrics = try #require(reader.clientSideCacheMetrics)
        print(
            "client-side cache race (\(broadcast ? "broadcast" : "keys read")): \(reads.value) reads, \(metrics.hits) hits, \(metrics.misses) misses, "
                + "\(metrics.invalidations) invalidations, \(stale.value) stale")
        #expect(stale.value == 0)
        #expect(metrics.hits > 1000)
        #expect(metrics.invalidations > 100)
        await reader.close()
        await writer.close()
    }

    /// A writer changes 500 keys under a prefix; the reader has read (and cached) 10 of them.
    /// Tracking the keys read, the server tells it of those 10; broadcasting the prefix, of all
    /// 500. Either way, no read after a write sees the old value, and keys outside the prefix are
    /// never cached under broadcast.
    @Test func broadcastTrackingTradesInvalidationTrafficForServerMemory() async throws {
        let server = try await SharedServer.valkey()
        let prefix = SharedServer.uniqueKey()
        let writer = try await server.client()
        let keys = (0..<500).map { "\(prefix):\($0)" }
        var received: [String: Int] = [:]
        for (mode, tracking) in [("keys read", ClientSideCache.Tracking.keysRead), ("broadcast", .broadcast(prefixes: [prefix + ":"]))] {
            for key in keys { try await writer.set(key, "old") }
            try await writer.set("\(prefix)-outside", "old")
            var cache = Self.cache
            cache.tracking = tracking
            let reader = try await server.client { [cache] in $0.clientSideCache = cache }
            for key in keys.prefix(10) {
                #expect(try await reader.get(key) == "old")
                #expect(try await reader.get(key) == "old")
            }
            #expect(try await reader.get("\(prefix)-outside") == "old")
            #expect(try await reader.get("\(prefix)-outside") == "old")
            let read = try #require(reader.clientSideCacheMetrics)
            // Outside the prefix nothing is cached under broadcast: both reads went to the server.
            #expect(read.hits == (mode == "broadcast" ? 10 : 11), "\(mode): \(read)")
            for key in keys { try await writer.set(key, "new \(mode)") }
            try await writer.set("\(prefix)-outside", "new \(mode)")
            for key in keys.prefix(10) { #expect(try await reader.get(key) == "new \(mode)") }
            #expect(try await reader.get("\(prefix)-outside") == "new \(mode)")
            received[mode] = try #require(reader.clientSideCacheMetrics).invalidationsReceived
            await reader.close()
        }
        print(
            "invalidation traffic for 500 writes, 10 keys cached: \(received["keys read"]!) keys named tracking keys read, "
                + "\(received["broadcast"]!) broadcasting the prefix")
        #expect(received["keys read"]! <= 11)
        #expect(received["broadcast"]! >= 500)
        await writer.close()
    }

    @Test func entriesAreEvictedAtTheByteLimitLeastRecentlyUsedFirst() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client { $0.clientSideCache = ClientSideCache(maximumBytes: 20_000) }
        let prefix = SharedServer.uniqueKey()
        let value = String(repeating: "x", count: 400)
        for index in 0..<100 { try await client.set("\(prefix):\(index)", value) }
        for index in 0..<100 { #expect(try await client.get("\(prefix):\(index)") == value) }
        let filled = try #require(client.clientSideCacheMetrics)
        #expect(filled.bytes <= 20_000)
        #expect(filled.entries < 100 && filled.entries > 10)
        #expect(filled.evictions == 100 - filled.entries)
        // The most recent read is still cached; the first one went.
        #expect(try await client.get("\(prefix):99") == value)
        #expect(client.clientSideCacheMetrics?.hits == filled.hits + 1)
        #expect(try await client.get("\(prefix):0") == value)
        #expect(client.clientSideCacheMetrics?.misses == filled.misses + 1)
        await client.close()
    }

    @Test func theClientsOwnWritesAndAFlushInvalidate() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.clientSideCache = Self.cache }
        try await client.set("k", "v1")
        try await client.hset("h", ["f": "1"])
        #expect(try await client.get("k") == "v1")
        #expect(try await client.get("k") == "v1")
        #expect(try await client.hgetall("h") == ["f": "1"])
        #expect(client.clientSideCacheMetrics?.hits == 1)
        try await client.set("k", "v2")
        #expect(try await client.get("k") == "v2")
        #expect(try await client.hgetall("h") == ["f": "1"])
        let other = try await server.client()
        _ = try await other.customCommand(["FLUSHALL"])
        #expect(try await client.get("k") == nil)
        #expect(try await client.hgetall("h") == [:])
        await other.close()
        await client.close()
    }

    @Test func aLostConnectionClearsTheCacheAndTrackingResumesOnTheNewOne() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client {
            $0.clientSideCache = Self.cache
            $0.clientName = "cached-reader"
        }
        let other = try await server.client()
        try await other.set("k", "before")
        #expect(try await client.get("k") == "before")
        #expect(client.clientSideCacheMetrics?.entries == 1)
        _ = try await other.customCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        try await Polling.waitUntil("the lost connection emptied the cache") { client.clientSideCacheMetrics?.entries == 0 }
        #expect(try await client.get("k") == "before")
        let tracking = try await client.customCommand(["CLIENT", "TRACKINGINFO"])
        #expect("\(tracking)".contains("on"))
        try await other.set("k", "after")
        #expect(try await client.get("k") == "after")
        await other.close()
        await client.close()
    }

    @Test func resp2IsAConfigurationError() async throws {
        let server = try await SharedServer.valkey()
        let refused = await failure {
            _ = try await server.client {
                $0.clientSideCache = Self.cache
                $0.protocolVersion = .resp2
            }
        }
        #expect(refused?.code == .configuration)
    }

    @Test func aClusterClientsNodesEachTrackTheirOwnKeys() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client { $0.clientSideCache = Self.cache }
        let writer = try await cluster.client()
        let keys = (0..<30).map { "\(SharedServer.uniqueKey()):\($0)" }
        for key in keys { try await writer.set(key, "1") }
        for key in keys { #expect(try await client.get(key) == "1") }
        for key in keys { #expect(try await client.get(key) == "1") }
        #expect(client.clientSideCacheMetrics?.hits == 30)
        for key in keys { try await writer.set(key, "2") }
        for key in keys { #expect(try await client.get(key) == "2") }
        #expect((client.clientSideCacheMetrics?.invalidations ?? 0) >= 30)
        // customCommand reads through the cache too.
        #expect(try await client.customCommand(["GET", keys[0]]).singleValue == .bulkString(Bytes("2")))
        #expect(client.clientSideCacheMetrics?.hits == 31)
        await writer.close()
        await client.close()
    }
}

/// The last acknowledged version of each key (under `Lock`, which `make tsan` can see).
final class Versions: Sendable {
    private let versions: Lock<[Int]>
    init(count: Int) { versions = Lock([Int](repeating: 0, count: count)) }
    func load(at index: Int) -> Int { versions.withLock { $0[index] } }
    func store(_ version: Int, at index: Int) { versions.withLock { $0[index] = version } }
}

extension ClientSideCacheIntegrationTests {
    @Test func selectingAnotherDatabaseDropsTheEntriesOfTheFirst() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.clientSideCache = Self.cache }
        try await client.set("k", "in-0")
        #expect(try await client.get("k") == "in-0")
        try await client.select(1)
        #expect(try await client.get("k") == nil)
        try await client.set("k", "in-1")
        #expect(try await client.get("k") == "in-1")
        try await client.select(0)
        #expect(try await client.get("k") == "in-0")
        await client.close()
    }
}
