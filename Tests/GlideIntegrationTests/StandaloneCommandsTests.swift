import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct StandaloneCommandsTests {
    @Test func stringsRoundTripAndConditionsHold() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.get(key) == nil)
        #expect(try await client.set(key, "one"))
        #expect(try await client.get(key) == "one")
        #expect(try await client.set(key, "two", condition: .onlyIfDoesNotExist) == false)
        #expect(try await client.get(key) == "one")
        #expect(try await client.set(key, "three", condition: .onlyIfExists))
        #expect(try await client.set(key + ":missing", "x", condition: .onlyIfExists) == false)
        #expect(try await client.exists([key + ":missing"]) == 0)
        #expect(try await client.get(key) == "three")
        await client.close()
    }

    @Test func expiryIsApplied() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v", expiry: .seconds(100))
        let ttl = try await client.customCommand(["TTL", key])
        #expect((91...100).contains(ttl.intValue ?? -1))
        try await client.set(key, "w", expiry: .milliseconds(50_000))
        let pttl = try await client.customCommand(["PTTL", key])
        #expect((40_000...50_000).contains(pttl.intValue ?? -1))
        try await client.set(key, "x", expiry: .keepExisting)
        #expect(try await client.customCommand(["PTTL", key]).intValue ?? -1 > 0)
        await client.close()
    }

    @Test func valuesAreBinarySafe() async throws {
        let client = try await SharedServer.valkey().client()
        let key = Bytes([0x6B, 0x00, 0xFF, 0x0D, 0x0A])  // "k", NUL, 0xFF, CR, LF
        let value = Bytes((0...255).map { UInt8($0) })
        try await client.set(key, value)
        let read: Bytes? = try await client.get(key, as: Bytes.self)
        #expect(read == value)
        #expect(try await client.del([key]) == 1)
        await client.close()
    }

    @Test func countersAndMultiKeyCommands() async throws {
        let client = try await SharedServer.valkey().client()
        let prefix = SharedServer.uniqueKey()
        #expect(try await client.incr(prefix + ":n") == 1)
        #expect(try await client.incrBy(prefix + ":n", 41) == 42)
        #expect(try await client.incrBy(prefix + ":n", -2) == 40)
        try await client.mset([prefix + ":a": "1", prefix + ":b": "2"])
        #expect(try await client.mget([prefix + ":a", prefix + ":missing", prefix + ":b"]) == ["1", nil, "2"])
        #expect(try await client.exists([prefix + ":a", prefix + ":a", prefix + ":missing"]) == 2)
        #expect(try await client.del([prefix + ":a", prefix + ":b", prefix + ":missing"]) == 2)
        let numbers: [Int?] = try await client.mget([prefix + ":n"], as: Int.self)
        #expect(numbers == [40])
        await client.close()
    }

    @Test func serverErrorsAreTypedAndLeaveTheClientUsable() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        try await client.set(key, "not a number")
        let error = await #expect(throws: GlideError.self) { try await client.incr(key) }
        #expect(error?.code == .server)
        #expect(error?.serverCode == "ERR")
        #expect(error?.message.contains("not an integer") == true)
        #expect(try await client.customCommand(["RPUSH", key + ":list", "x"]) == .integer(1))
        let wrongType = await #expect(throws: GlideError.self) { try await client.get(key + ":list") }
        #expect(wrongType?.serverCode == "WRONGTYPE")
        let unknown = await #expect(throws: GlideError.self) { try await client.customCommand(["NO-SUCH-COMMAND"]) }
        #expect(unknown?.code == .server)
        #expect(try await client.get(key) == "not a number")
        await client.close()
    }

    @Test func pingInfoSelectAndCustomCommands() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        #expect(try await client.ping() == "PONG")
        #expect(try await client.ping("hello") == "hello")
        let info = try await client.info([.server])
        #expect(info.contains("valkey_version:") || info.contains("redis_version:"))
        #expect(!info.contains("# Clients"))
        let key = SharedServer.uniqueKey()
        try await client.select(3)
        try await client.set(key, "in db 3")
        try await client.select(0)
        #expect(try await client.get(key) == nil)
        try await client.select(3)
        #expect(try await client.get(key) == "in db 3")
        let clientInfo = try await client.customCommand(["CLIENT", "INFO"])
        #expect(clientInfo.stringValue?.contains("db=3") == true)
        // CLIENT SETINFO is Valkey's and Redis 7.2's; older servers refuse it and the client goes on.
        let setInfo = ServerBinaries.mainServer.isValkey || ServerBinaries.mainServer.version >= ServerVersion("7.2")
        #expect(clientInfo.stringValue?.contains("lib-name=glide-swift") == setInfo, "\(ServerBinaries.mainServer)")
        let select = await #expect(throws: GlideError.self) { try await client.select(100_000) }
        #expect(select?.code == .server)
        await client.close()
    }

    @Test func databaseAndNameAreSetAtConnect() async throws {
        let client = try await SharedServer.valkey().client {
            $0.databaseID = 5
            $0.clientName = "glide-test"
        }
        let info = try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        #expect(info.contains("db=5"))
        #expect(info.contains("name=glide-test"))
        // CLIENT INFO names the protocol from Redis 7 on (resp2IsSpokenWhenConfigured tells them apart by reply shape).
        #expect(info.contains("resp=3") || !ServerFeatures.has(redis: "7.0"))
        await client.close()
    }

    @Test func resp2IsSpokenWhenConfigured() async throws {
        let client = try await SharedServer.valkey().client { $0.protocolVersion = .resp2 }
        let info = try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        #expect(info.contains("resp=2") || !ServerFeatures.has(redis: "7.0"))
        let key = SharedServer.uniqueKey()
        #expect(try await client.customCommand(["HSET", key, "f", "v"]) == .integer(1))
        // RESP2 sends maps as flat arrays; RESP3 sends maps.
        #expect(try await client.customCommand(["HGETALL", key]) == .array([.bulkString("f"), .bulkString("v")]))
        let resp3 = try await SharedServer.valkey().client()
        #expect(try await resp3.customCommand(["HGETALL", key]) == .map([RESPPair(key: .bulkString("f"), value: .bulkString("v"))]))
        await client.close()
        await resp3.close()
    }

    @Test func statisticsCountClientsAndConnections() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let before = client.getStatistics()
        #expect(before.totalClients >= 1)
        #expect(before.totalConnections >= 1)
        let second = try await server.client()
        let during = client.getStatistics()
        #expect(
            during.dictionary.keys.sorted() == [
                "circuit_breaker_openings", "circuit_breaker_rejections", "connection_failures", "events_dropped", "malformed_pushes",
                "pubsub_messages_dropped", "pubsub_resubscriptions", "reconnects",
                "redirections", "retries", "topology_refreshes", "total_clients", "total_connections",
            ])
        await second.close()
        // Other tests run in parallel, so only the shape and signs are certain.
        #expect(during.totalClients >= 2 && during.totalConnections >= 2)
        await client.close()
    }

    @Test func closedClientRejectsRequests() async throws {
        let client = try await SharedServer.valkey().client()
        #expect(try await client.ping() == "PONG")
        await client.close()
        let error = await #expect(throws: GlideError.self) { try await client.ping() }
        #expect(error?.code == .clientClosed)
        await client.close()  // closing twice is harmless
    }
}

@Suite(.timeLimit(.minutes(5))) struct CustomBlockingCommandTests {
    @Test func aBlockingCustomCommandWaitsForItsOwnTimeout() async throws {
        let client = try await SharedServer.valkey().client { $0.requestTimeout = .milliseconds(250) }
        let key = SharedServer.uniqueKey()
        let started = ContinuousClock.now
        // BLPOP's 0.6 s outlasts the 250 ms request timeout: it comes back empty, not timed out.
        #expect(try await client.customCommand(["BLPOP", key, "0.6"]) == .null)
        #expect(ContinuousClock.now - started >= .milliseconds(550))
        await client.close()
    }
}

@Suite(.timeLimit(.minutes(5))) struct MultiplexingGuardTests {
    @Test(arguments: [["SUBSCRIBE", "news"], ["psubscribe", "n*"], ["MONITOR"], ["client", "reply", "off"]])
    func commandsThatBreakOneReplyPerRequestAreRefused(arguments: [String]) async throws {
        let client = try await SharedServer.valkey().client()
        let error = await #expect(throws: GlideError.self) { try await client.customCommand(arguments) }
        #expect(error?.code == .configuration)
        // Nothing was sent: the connection still answers in step.
        #expect(try await client.ping("still in step") == "still in step")
        await client.close()
    }

    @Test func typedCommandsThatBreakOneReplyPerRequestAreRefused() async throws {
        let client = try await SharedServer.valkey().client()
        for attempt in 0..<4 {
            let error = await #expect(throws: GlideError.self) {
                switch attempt {
                case 0: _ = try await client.execute(SUBSCRIBE(["news"]))
                case 1: _ = try await client.execute(MONITOR())
                case 2: _ = try await client.execute(CLIENT.REPLY(action: .skip))
                default: _ = try await client.execute(RESET())
                }
            }
            #expect(error?.code == .configuration)
        }
        #expect(try await client.ping("still in step") == "still in step")
        let error = await #expect(throws: GlideError.self) { try await client.customCommand([String]()) }
        #expect(error?.code == .configuration)
        await client.close()
    }
}
