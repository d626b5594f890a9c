import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The client-side cache's pure parts: entries, their order of use and byte limit, the race
/// between a reply and an invalidation, flushes and lost connections; the table of cached
/// commands; invalidation pushes; the fence that confirms hits. No sockets.
@Suite(.timeLimit(.minutes(2))) struct ClientSideCacheTests {
    let now = Deadline(uptimeNanoseconds: 1_000_000_000)

    func request(_ arguments: String...) -> RESPCommandBuffer {
        var buffer = RESPCommandBuffer()
        buffer.writeRESPCommand(arguments)
        return buffer
    }

    func read(_ state: inout CacheState<Int>, _ key: String, value: String, origin: Int = 1) {
        let ticket = state.beginRead(Bytes(key))
        state.finishRead(
            ticket, request: request("GET", key).bytes, reply: reply("$\(value.utf8.count)\r\n\(value)\r\n"), origin: origin, now: now)
    }

    @Test func aStoredReplyIsHitUntilItsKeyIsInvalidated() {
        var state = CacheState<Int>(maximumBytes: 10_000, entryTTL: nil)
        #expect(state.lookup(request("GET", "k").bytes, now: now) == nil)
        read(&state, "k", value: "v1")
        #expect(state.lookup(request("GET", "k").bytes, now: now)?.value == reply("$2\r\nv1\r\n"))
        state.invalidate(Bytes("k"))
        #expect(state.lookup(request("GET", "k").bytes, now: now) == nil)
        #expect(state.metrics.hits == 1)
        #expect(state.metrics.misses == 1)
        #expect(state.metrics.invalidations == 1)
        #expect(state.metrics.entries == 0 && state.metrics.bytes == 0)
    }

    @Test func aReplyWhoseKeyWasInvalidatedWhileItWasReadIsNotStored() {
        var state = CacheState<Int>(maximumBytes: 10_000, entryTTL: nil)
        let ticket = state.beginRead(Bytes("k"))
        let other = state.beginRead(Bytes("other"))
        // The invalidation came before the reply was stored: the reply may predate the write.
        state.invalidate(Bytes("k"))
        state.finishRead(ticket, request: request("GET", "k").bytes, reply: reply("$3\r\nold\r\n"), origin: 1, now: now)
        state.finishRead(other, request: request("GET", "other").bytes, reply: reply("$1\r\nx\r\n"), origin: 1, now: now)
        #expect(state.lookup(request("GET", "k").bytes, now: now) == nil)
        #expect(state.lookup(request("GET", "other").bytes, now: now) != nil)
        // A later read of the key is stored again.
        read(&state, "k", value: "new")
        #expect(state.lookup(request("GET", "k").bytes, now: now)?.value == reply("$3\r\nnew\r\n"))
    }

    @Test func aFlushOrALostConnectionDropsWhatItTrackedAndEveryReadUnderWay() {
        var state = CacheState<Int>(maximumBytes: 10_000, entryTTL: nil)
        read(&state, "a", value: "1", origin: 1)
        read(&state, "b", value: "2", origin: 2)
        let running = state.beginRead(Bytes("c"))
        state.connectionLost(1)
        #expect(state.lookup(request("GET", "a").bytes, now: now) == nil)
        #expect(state.lookup(request("GET", "b").bytes, now: now) != nil)
        state.finishRead(running, request: request("GET", "c").bytes, reply: reply("$1\r\n3\r\n"), origin: 2, now: now)
        #expect(state.lookup(request("GET", "c").bytes, now: now) == nil)
        let again = state.beginRead(Bytes("d"))
        state.invalidateAll()
        state.finishRead(again, request: request("GET", "d").bytes, reply: reply("$1\r\n4\r\n"), origin: 2, now: now)
        #expect(state.metrics.entries == 0)
    }

    @Test func theLeastRecentlyUsedEntriesGoToStayUnderTheByteLimit() {
        let entry = request("GET", "k0").bytes.count + 2 + reply("$10\r\n0123456789\r\n").bytes.count + CacheState<Int>.entryOverhead
        var state = CacheState<Int>(maximumBytes: entry * 3, entryTTL: nil)
        for index in 0..<3 { read(&state, "k\(index)", value: "0123456789") }
        _ = state.lookup(request("GET", "k0").bytes, now: now)  // k1 is now the least recently used
        read(&state, "k3", value: "0123456789")
        #expect(state.lookup(request("GET", "k1").bytes, now: now) == nil)
        for kept in ["k0", "k2", "k3"] { #expect(state.lookup(request("GET", kept).bytes, now: now) != nil) }
        #expect(state.metrics.evictions == 1)
        #expect(state.metrics.entries == 3)
        #expect(state.metrics.bytes <= entry * 3)
        // An entry larger than the whole cache is never stored.
        var small = CacheState<Int>(maximumBytes: 64, entryTTL: nil)
        read(&small, "k", value: "0123456789")
        #expect(small.metrics.entries == 0)
    }

    @Test func aReusedSlotAnswersWithItsNewEntryAndTakesItsPlaceInTheOrderOfUse() {
        let entry = request("GET", "k0").bytes.count + 2 + reply("$2\r\nv0\r\n").bytes.count + CacheState<Int>.entryOverhead
        var state = CacheState<Int>(maximumBytes: entry * 3, entryTTL: nil)
        read(&state, "k0", value: "v0", origin: 1)
        read(&state, "k1", value: "v1", origin: 1)
        state.invalidate(Bytes("k0"))
        // k2 takes k0's freed slot: its value and origin, not k0's, answer a hit.
        read(&state, "k2", value: "v2", origin: 2)
        #expect(state.lookup(request("GET", "k0").bytes, now: now) == nil)
        let hit = state.lookup(request("GET", "k2").bytes, now: now)
        #expect(hit?.value == reply("$2\r\nv2\r\n") && hit?.origin == 2)
        #expect(state.lookup(request("GET", "k2").bytes, now: now, origin: 1) == nil)
        // The order of use is k2, then k1: filling the cache past its limit evicts k1 first.
        read(&state, "k3", value: "v3")
        read(&state, "k4", value: "v4")
        #expect(state.lookup(request("GET", "k1").bytes, now: now) == nil)
        for kept in ["k2", "k3", "k4"] { #expect(state.lookup(request("GET", kept).bytes, now: now) != nil) }
        // A lost connection drops the entries it read, by slot, and only those.
        state.connectionLost(2)
        #expect(state.lookup(request("GET", "k2").bytes, now: now) == nil)
        #expect(state.lookup(request("GET", "k3").bytes, now: now)?.value == reply("$2\r\nv3\r\n"))
    }

    @Test func anEntryExpiresAfterItsTTL() {
        var state = CacheState<Int>(maximumBytes: 10_000, entryTTL: .seconds(1))
        read(&state, "k", value: "v")
        #expect(state.lookup(request("GET", "k").bytes, now: now + .milliseconds(999)) != nil)
        #expect(state.lookup(request("GET", "k").bytes, now: now + .seconds(1)) == nil)
        #expect(state.metrics.expirations == 1)
    }

    @Test func theTableNamesTheKeyOfEachCachedRequestAndNothingElse() {
        #expect(CachedCommands.key(of: "GET", request: request("GET", "user:1")) == Bytes("user:1"))
        #expect(CachedCommands.key(of: "HGET", request: request("HGET", "h", "field")) == Bytes("h"))
        #expect(CachedCommands.key(of: "EXISTS", request: request("EXISTS", "a")) == Bytes("a"))
        #expect(CachedCommands.key(of: "EXISTS", request: request("EXISTS", "a", "b")) == nil)
        #expect(CachedCommands.key(of: "SET", request: request("SET", "a", "b")) == nil)
        #expect(CachedCommands.key(of: "GET", request: request("GET")) == nil)
    }

    @Test func invalidationPushesAreRead() {
        #expect(CacheInvalidation(reply(">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")) == .keys([Bytes("a"), Bytes("b")]))
        #expect(CacheInvalidation(reply(">2\r\n$10\r\ninvalidate\r\n_\r\n")) == .all)
        #expect(CacheInvalidation(reply(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n")) == nil)
    }

    @Test func aCachingHandshakeTurnsTrackingOnAndARefusalIsAConfigurationError() {
        var configuration = HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0)
        configuration.tracking = true
        var machine = HandshakeStateMachine(configuration: configuration)
        #expect(machine.start().string.contains("CLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON"))
        #expect(machine.steps.contains(.tracking))
        _ = machine.receive(reply("%1\r\n$2\r\nid\r\n:7\r\n"))
        guard case .failed(let summary) = machine.receive(reply("-ERR tracking refused\r\n")) else {
            Issue.record("a refused CLIENT TRACKING must fail the handshake")
            return
        }
        #expect(summary.code == .configuration)
    }

    @Test func broadcastTrackingSendsItsPrefixesAndCachesOnlyKeysUnderThem() {
        var configuration = HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0)
        configuration.tracking = true
        configuration.trackingPrefixes = ["user:", "item:"]
        var machine = HandshakeStateMachine(configuration: configuration)
        #expect(
            machine.start().string.contains(
                "*8\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON\r\n$5\r\nBCAST\r\n$6\r\nPREFIX\r\n$5\r\nuser:\r\n"
                    + "$6\r\nPREFIX\r\n$5\r\nitem:\r\n"))
        var cache = ClientSideCache(maximumBytes: 1 << 20)
        #expect(cache.caches(Bytes("anything")) && cache.broadcastPrefixes == nil)
        cache.tracking = .broadcast(prefixes: ["user:", "item:"])
        #expect(cache.caches(Bytes("user:1")) && cache.caches(Bytes("item:")))
        #expect(!cache.caches(Bytes("user")) && !cache.caches(Bytes("order:1")))
        #expect(cache.trackingProblem == nil)
        // Every key, with no prefix.
        cache.tracking = .broadcast(prefixes: [])
        #expect(cache.caches(Bytes("order:1")))
        // The server refuses prefixes of which one starts with another.
        cache.tracking = .broadcast(prefixes: ["user:", "user:admin:"])
        #expect(cache.trackingProblem?.contains("overlap") == true)
    }

    @Test func hitsArrivingTogetherShareOnePing() async {
        let pings = Counter()
        let gate = AsyncStream<Void>.makeStream()
        let fence = CacheFence { _ in
            // The first PING stays out until every other hit has joined.
            if pings.next() == 1 { for await _ in gate.stream { break } }
            return true
        }
        let confirmed = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await fence.confirm(deadline: .distantFuture) }
            while pings.value == 0 { await Task.yield() }
            for _ in 0..<20 { group.addTask { await fence.confirm(deadline: .distantFuture) } }
            while fence.waiting < 20 { await Task.yield() }
            gate.continuation.yield()
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(confirmed.count == 21 && confirmed.allSatisfy { $0 })
        // The first PING, then one round for the 20 that waited behind it.
        #expect(pings.value == 2)
    }
}

/// A count tasks share.
private final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    /// Counts one more and returns the new count.
    func next() -> Int { count.wrappingAdd(1, ordering: .relaxed).newValue }
}
