import Foundation
import Glide
import GlideTestSupport
import Testing

/// One test per command group, run against Valkey 9.1 and Redis 7.0, asserting typed replies.
@Suite(.timeLimit(.minutes(5))) struct DataTypeCommandTests {
    @Test(arguments: ServerFlavor.allCases)
    func strings(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.set(key, "Hello"))
        #expect(try await client.append(key, " World") == 11)
        #expect(try await client.strlen(key) == 11)
        #expect(try await client.getrange(key, start: 0, end: 4) == "Hello")
        #expect(try await client.setrange(key, offset: 6, "Swift") == 11)
        #expect(try await client.get(key) == "Hello Swift")
        #expect(try await client.setReturningOldValue(key, "new") == "Hello Swift")
        #expect(try await client.getdel(key) == "new")
        #expect(try await client.get(key) == nil)
        #expect(try await client.incr(key + ":n") == 1)
        #expect(try await client.incrBy(key + ":n", 9) == 10)
        #expect(try await client.decr(key + ":n") == 9)
        #expect(try await client.decrBy(key + ":n", 4) == 5)
        #expect(try await client.incrByFloat(key + ":n", 0.5) == 5.5)
        #expect(try await client.msetnx([key + ":a": "1", key + ":b": "2"]))
        #expect(try await client.msetnx([key + ":a": "x", key + ":c": "3"]) == false)
        #expect(try await client.mget([key + ":a", key + ":b", key + ":c"]) == ["1", "2", nil])
        try await client.set(key + ":ex", "v", expiry: .seconds(100))
        #expect(try await client.getex(key + ":ex", expiry: .persist) == "v")
        #expect(try await client.ttl(key + ":ex") == -1)
        if let lcs = try await ServerFeatures.since(
            redis: "7.0", "LCS", flavor: flavor, { try await client.execute(LCS(key + ":a", key + ":b")) })
        {
            #expect(lcs.stringValue == "")
        }
        if flavor.isValkeyServer {
            // IFEQ is Valkey 8.1's: the argument, not the command, is newer than Redis 7.0.
            try await client.set(key, "v1")
            #expect(try await client.set(key, "v2", condition: .onlyIfEqual("nope")) == false)
            #expect(try await client.set(key, "v2", condition: .onlyIfEqual("v1")))
            #expect(try await client.get(key) == "v2")
        }
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func hashes(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let version = try await ServerVersion.of(client)
        let key = SharedServer.uniqueKey()
        #expect(try await client.hset(key, ["name": "Ada", "year": "1815"]) == 2)
        #expect(try await client.hset(key, ["name": "Ada L."]) == 0)
        #expect(try await client.hget(key, "name") == "Ada L.")
        #expect(try await client.hget(key, "missing") == nil)
        #expect(try await client.hgetall(key) == ["name": "Ada L.", "year": "1815"])
        #expect(try await client.hmget(key, ["year", "nope"]) == ["1815", nil])
        #expect(try await client.hexists(key, "year"))
        #expect(try await client.hincrBy(key, "year", 10) == 1825)
        #expect(try await client.hincrByFloat(key, "score", 1.5) == 1.5)
        #expect(try await client.hkeys(key).sorted() == ["name", "score", "year"])
        #expect(try await client.hvals(key).count == 3)
        #expect(try await client.hlen(key) == 3)
        #expect(try await client.hstrlen(key, "name") == 6)
        #expect(try await client.hsetnx(key, "name", "x") == false)
        #expect(try await client.hdel(key, ["score", "nope"]) == 1)
        let page = try await client.hscan(key, count: 10)
        #expect(page.isComplete && page.elements.count == 4)
        if version.supports("HSETEX", flavor: flavor) {
            #expect(
                try await client.execute(HSETEX(key, expiration: .seconds(100), fields: .init(data: [.init(field: "tmp", value: "1")]))))
            let ttl = try await client.execute(HTTL(key, fields: .init(fields: ["tmp", "name"])))
            #expect(ttl.count == 2 && ttl[0] > 90 && ttl[1] == -1)
            #expect(try await client.execute(HPERSIST(key, fields: .init(fields: ["tmp"]))) == [1])
        }
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func lists(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.rpush(key, ["a", "b", "c"]) == 3)
        #expect(try await client.lpush(key, ["z"]) == 4)
        #expect(try await client.lrange(key, 0, -1) == ["z", "a", "b", "c"])
        #expect(try await client.llen(key) == 4)
        #expect(try await client.lindex(key, 1) == "a")
        #expect(try await client.lpop(key) == "z")
        #expect(try await client.rpop(key, count: 2) == ["c", "b"])
        try await client.rpush(key, ["a", "x", "a"])
        #expect(try await client.lrem(key, count: 0, "a") == 3)
        try await client.rpush(key, ["1", "2", "3", "4"])
        try await client.ltrim(key, 1, 2)
        try await client.lset(key, 0, "two")
        #expect(try await client.lrange(key, 0, -1) == ["two", "2"])
        #expect(try await client.lmove(key, key + ":dst", from: .left, to: .right) == "two")
        #expect(try await client.lpos(key, "2") == 0)
        #expect(try await client.lpos(key, "nope") == nil)

        // BLPOP waits past the 250 ms request timeout: the client gives a blocking command its own.
        let quickName = "quick-" + key.filter { $0.isLetter || $0.isNumber }
        let quick = try await flavor.client {
            $0.requestTimeout = .milliseconds(250)
            $0.clientName = quickName
        }
        let started = ContinuousClock.now
        let none = try await quick.blpop([key + ":empty"], timeout: 0.6)
        #expect(none == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(550))
        let waiter = Task { try await quick.blpop([key + ":later"], timeout: 5) }
        try await Polling.waitUntil("the server holds the BLPOP") {
            let list = try await client.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
            return list.split(separator: "\n").contains { $0.contains("name=\(quickName) ") && $0.contains("cmd=blpop") }
        }
        try await client.rpush(key + ":later", ["arrived"])
        let popped = try await waiter.value
        #expect(popped?.key == key + ":later" && popped?.element == "arrived")
        // Binary elements come back intact when asked for as bytes.
        let binary = Bytes([0xff, 0x00, 0xfe])
        try await client.rpush(key + ":bin", [binary])
        #expect(try await client.brpop([key + ":bin"], timeout: 1, as: Bytes.self)?.element == binary)
        await quick.close()
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func sets(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.sadd(key, ["a", "b", "c"]) == 3)
        #expect(try await client.sadd(key, ["a"]) == 0)
        #expect(try await client.smembers(key) == ["a", "b", "c"])
        #expect(try await client.sismember(key, "b"))
        #expect(try await client.smismember(key, ["a", "x"]) == [true, false])
        #expect(try await client.scard(key) == 3)
        try await client.sadd(key + ":2", ["c", "d"])
        #expect(try await client.sinter([key, key + ":2"]) == ["c"])
        #expect(try await client.sunion([key, key + ":2"]) == ["a", "b", "c", "d"])
        #expect(try await client.sdiff([key, key + ":2"]) == ["a", "b"])
        try await client.sadd(key + ":bin", [Bytes([0xff, 0x01])])
        #expect(try await client.smembers(key + ":bin", as: Bytes.self) == [Bytes([0xff, 0x01])])
        if let common = try await ServerFeatures.since(
            redis: "7.0", "SINTERCARD", flavor: flavor, { try await client.execute(SINTERCARD([key, key + ":2"])) })
        {
            #expect(common == 1)
        }
        #expect(try await client.smove(key, key + ":2", "a"))
        #expect(try await client.srem(key, ["b", "x"]) == 1)
        #expect(try await client.spop(key) == "c")
        #expect(try await client.spop(key) == nil)
        let page = try await client.sscan(key + ":2")
        #expect(Set(page.elements.map(\.string)) == ["a", "c", "d"])
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func sortedSets(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.zadd(key, ["a": 1, "b": 2, "c": 3]) == 3)
        #expect(try await client.zadd(key, ["a": 5], condition: .xx, changed: true) == 1)
        #expect(try await client.zaddIncr(key, "b", increment: 0.5) == 2.5)
        #expect(try await client.zscore(key, "a") == 5)
        #expect(try await client.zscore(key, "missing") == nil)
        #expect(try await client.zmscore(key, ["c", "x"]) == [3, nil])
        #expect(try await client.zincrBy(key, 1.5, "c") == 4.5)
        #expect(try await client.zrank(key, "b") == 0)
        #expect(try await client.zrevrank(key, "b") == 2)
        #expect(try await client.zrank(key, "x") == nil)
        #expect(try await client.zcount(key, min: "(2.5", max: "+inf") == 2)
        #expect(try await client.zrange(key, 0, -1) == ["b", "c", "a"])
        let scored = try await client.zrangeWithScores(key, 0, -1, reverse: true)
        #expect(scored.map(\.member) == ["a", "c", "b"] && scored.map(\.score) == [5, 4.5, 2.5])
        #expect(try await client.zrangeByScore(key, min: "-inf", max: "(5") == ["b", "c"])
        #expect(try await client.zcard(key) == 3)
        try await client.zadd(key + ":2", ["a": 1, "z": 2])
        #expect(try await client.execute(ZUNIONSTORE(key + ":u", [key, key + ":2"], weights: [1, 0.5])) == 4)
        #expect(try await client.zscore(key + ":u", "a") == 5.5)
        #expect(try await client.zpopmin(key).map(\.member) == ["b"])
        #expect(try await client.zpopmax(key, count: 2).map(\.score) == [5, 4.5])
        #expect(try await client.zrem(key + ":2", ["a"]) == 1)
        #expect(try await client.zscan(key + ":2").elements.count == 2)
        await client.close()
    }
}
