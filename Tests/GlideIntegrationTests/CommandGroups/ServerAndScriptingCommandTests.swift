import Foundation
import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ServerAndScriptingCommandTests {
    @Test(arguments: ServerFlavor.allCases)
    func keysExpiryAndScan(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let prefix = SharedServer.uniqueKey()
        for index in 0..<25 { try await client.set("\(prefix):\(index)", "\(index)") }
        #expect(try await client.exists(["\(prefix):0", "\(prefix):1", "\(prefix):nope"]) == 2)
        #expect(try await client.type("\(prefix):0") == "string")
        #expect(try await client.expire("\(prefix):0", seconds: 100))
        let gt = try await ServerFeatures.since(redis: "7.0", "EXPIRE … GT", flavor: flavor) {
            try await client.expire("\(prefix):0", seconds: 50, condition: .gt)
        }
        #expect(gt != true)
        #expect((90...100).contains(try await client.ttl("\(prefix):0")))
        #expect(try await client.pexpire("\(prefix):1", milliseconds: 90_000))
        #expect((80_000...90_000).contains(try await client.pttl("\(prefix):1")))
        #expect(try await client.persist("\(prefix):1"))
        #expect(try await client.ttl("\(prefix):1") == -1)
        #expect(try await client.ttl("\(prefix):nope") == -2)
        #expect(try await client.expireAt("\(prefix):2", unixSeconds: Int(Date().timeIntervalSince1970) + 500))
        try await client.rename("\(prefix):3", "\(prefix):renamed")
        #expect(try await client.renamenx("\(prefix):4", "\(prefix):renamed") == false)
        #expect(try await client.copy("\(prefix):5", "\(prefix):copy"))
        #expect(try await client.get("\(prefix):copy") == "5")
        #expect(try await client.touch(["\(prefix):5", "\(prefix):nope"]) == 1)
        #expect(try await client.unlink(["\(prefix):copy"]) == 1)

        // A full SCAN iteration finds every key once, whatever the page size.
        var found: Set<String> = []
        var cursor = "0"
        var pages = 0
        repeat {
            let page = try await client.scan(cursor, match: BulkString("\(prefix):*"), count: 7)
            found.formUnion(page.elements.map(\.string))
            cursor = page.cursor
            pages += 1
        } while cursor != "0" && pages < 10_000
        #expect(found.count == 25)
        #expect(found.contains("\(prefix):renamed") && !found.contains("\(prefix):3"))
        #expect(try await client.randomKey() != nil)
        #expect(try await client.del(found.sorted()) == 25)
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func scripting(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        let script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
        #expect(try await client.eval(script, keys: [key], args: ["from-lua"]).stringValue == "from-lua")
        let sha = try await client.scriptLoad("return ARGV[1] + 1")
        #expect(sha.count == 40)
        #expect(try await client.evalsha(sha, args: ["41"]) == .integer(42))
        #expect(try await client.scriptExists([sha, String(repeating: "0", count: 40)]) == [true, false])
        let missing = await #expect(throws: GlideError.self) {
            try await client.evalsha(String(repeating: "f", count: 40))
        }
        #expect(missing?.serverCode == "NOSCRIPT")
        let readOnly = try await ServerFeatures.since(redis: "7.0", "EVAL_RO", flavor: flavor) {
            try await client.execute(EVAL_RO("return redis.call('GET', KEYS[1])", keys: [key]))
        }
        #expect(readOnly == nil || readOnly?.stringValue == "from-lua")
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func functions(flavor: ServerFlavor) async throws {
        let server = try await flavor.server()
        // Functions are server-wide: a library name no other test uses.
        let library = "lib" + UUID().uuidString.prefix(8).filter(\.isLetter)
        let client = try await server.client()
        let code = """
            #!lua name=\(library)
            server.register_function('\(library)_echo', function(keys, args) return args[1] end)
            server.register_function{function_name='\(library)_get', callback=function(keys, args)
              return server.call('GET', keys[1]) end, flags={'no-writes'}}
            """
        let portable = !flavor.isValkeyServer ? code.replacingOccurrences(of: "server.", with: "redis.") : code
        guard
            let loaded = try await ServerFeatures.since(
                redis: "7.0", "FUNCTION", flavor: flavor, { try await client.functionLoad(portable) })
        else {
            await client.close()
            return
        }
        #expect(loaded == library)
        #expect(try await client.fcall("\(library)_echo", args: ["hi"]).stringValue == "hi")
        let key = SharedServer.uniqueKey()
        try await client.set(key, "stored")
        #expect(try await client.fcallReadOnly("\(library)_get", keys: [key]).stringValue == "stored")
        let listed = try await client.functionList(matching: BulkString(library))
        #expect(listed.description.contains("\(library)_echo"))
        let duplicate = await #expect(throws: GlideError.self) { try await client.functionLoad(portable) }
        #expect(duplicate?.code == .server)
        #expect(try await client.functionLoad(portable, replace: true) == library)
        try await client.functionDelete(library)
        let gone = await #expect(throws: GlideError.self) { try await client.fcall("\(library)_echo") }
        #expect(gone?.code == .server)
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func server(flavor: ServerFlavor) async throws {
        // Database 9 is this test's alone, so DBSIZE is exact.
        let client = try await flavor.client { $0.databaseID = 9 }
        try await client.flushdb()
        #expect(try await client.dbsize() == 0)
        try await client.set("a", "1")
        try await client.set("b", "2")
        #expect(try await client.dbsize() == 2)
        // Several sections in one INFO are Redis 7's.
        if let info = try await ServerFeatures.since(
            redis: "7.0", "INFO with several sections", flavor: flavor, { try await client.info([.server, .keyspace]) })
        {
            #expect(info.contains("# Server") && info.contains("db9:keys=2"))
        }
        #expect(try await client.info([.keyspace]).contains("db9:keys=2"))
        let timeout = try await client.configGet(["timeout"])
        #expect(timeout["timeout"] != nil)
        try await client.configSet(["slowlog-max-len": "200"])
        #expect(try await client.configGet(["slowlog-max-len"]) == ["slowlog-max-len": "200"])
        let list = try await client.execute(CLIENT.LIST(clientType: .normal))
        #expect(list.contains("db=9"))
        let (seconds, _) = try await client.time()
        #expect(abs(seconds - Int(Date().timeIntervalSince1970)) < 60)
        #expect(try await client.lastsave() > 0)
        #expect(try await client.execute(COMMAND.COUNT()) > 200)
        if let docs = try await ServerFeatures.since(
            redis: "7.0", "COMMAND DOCS", flavor: flavor, { try await client.execute(COMMAND.DOCS(commandNames: ["get"])) })
        {
            #expect(docs.description.contains("summary") && docs.description.contains("since") && docs.description.contains("1.0.0"))
        }
        try await client.flushdb()
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func connection(flavor: ServerFlavor) async throws {
        let client = try await flavor.client { $0.clientName = "group-test" }
        #expect(try await client.ping() == "PONG")
        #expect(try await client.ping("hello") == "hello")
        #expect(try await client.echo("echo me") == "echo me")
        #expect(try await client.clientGetName() == "group-test")
        try await client.execute(CLIENT.SETNAME("renamed"))
        #expect(try await client.clientGetName() == "renamed")
        let id = try await client.clientId()
        #expect(id > 0)
        let key = SharedServer.uniqueKey()
        try await client.select(2)
        try await client.set(key, "in 2")
        try await client.select(0)
        #expect(try await client.get(key) == nil)
        try await client.select(2)
        #expect(try await client.get(key) == "in 2")
        await client.close()
    }

    @Test func commandsNewerThanTheServerFailWithTheServersOwnError() async throws {
        let client = try await ServerFlavor.redis.client()
        // HSETEX is Valkey 9's: Redis 7.0 answers with its own error, and the client stays usable.
        let error = await #expect(throws: GlideError.self) {
            try await client.execute(HSETEX("h", fields: .init(data: [.init(field: "f", value: "v")])))
        }
        #expect(error?.code == .server)
        #expect(error?.message.lowercased().contains("unknown command") == true)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }
}
