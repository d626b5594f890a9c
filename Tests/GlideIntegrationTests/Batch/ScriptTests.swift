import Glide
import GlideTestSupport
import Testing

/// Scripts by digest and functions, on a server and on a cluster.
@Suite(.timeLimit(.minutes(5))) struct ScriptTests {
    static let increment = Script("return redis.call('INCRBY', KEYS[1], ARGV[1])")

    @Test func aScriptRunsByItsDigestAndSurvivesAScriptFlush() async throws {
        // A server of its own: SCRIPT FLUSH empties the whole script cache.
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let key = SharedServer.uniqueKey()
        // The digest computed here is the server's.
        #expect(try await client.scriptLoad(Self.increment.code) == Self.increment.sha1)
        #expect(try await client.invokeScript(Self.increment, keys: [key], args: ["5"], as: Int.self) == 5)
        try await client.scriptFlush()
        // NOSCRIPT now: the code is sent once, and the script is cached again.
        #expect(try await client.invokeScript(Self.increment, keys: [key], args: ["2"], as: Int.self) == 7)
        #expect(try await client.scriptExists([Self.increment.sha1]) == [true])
        #expect(try await client.invokeScript(Self.increment, keys: [key], args: ["1"]) == .integer(8))
        // A script that fails says why.
        let broken = Script("return redis.call('NO-SUCH-COMMAND')")
        let error = await #expect(throws: GlideError.self) { try await client.invokeScript(broken) }
        #expect(error?.code == .server)
        await client.close()
    }

    @Test func functionsLoadListCallAndDelete() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let library = """
            #!lua name=counters
            redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)
            redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}
            """
        guard let loaded = try await ServerFeatures.since(redis: "7.0", "FUNCTION", { try await client.functionLoad(library) }) else {
            await client.close()
            return
        }
        #expect(loaded == "counters")
        #expect(try await client.fcall("bump", keys: ["c"], args: ["3"], as: Int.self) == 3)
        #expect(try await client.fcallReadOnly("peek", keys: ["c"], as: String.self) == "3")
        let listed = try await client.functionList(matching: "counters")
        #expect(listed.description.contains("bump"))
        let again = await #expect(throws: GlideError.self) { try await client.functionLoad(library) }
        #expect(again?.code == .server)
        #expect(try await client.functionLoad(library, replace: true) == "counters")
        try await client.functionDelete("counters")
        #expect(await #expect(throws: GlideError.self) { try await client.fcall("bump", keys: ["c"], args: ["1"]) }?.code == .server)
        await client.close()
    }

    @Test func onAClusterScriptsGoWhereTheirKeysAreOrWhereTheRouteSays() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        _ = try await client.invokeScript(Script("return 1"), route: .allPrimaries)
        // Keys on every primary: each node lacking the script gets its code once.
        for index in 0..<20 {
            #expect(try await client.invokeScript(Self.increment, keys: ["\(prefix):\(index)"], args: ["2"], as: Int.self) == 2)
        }
        let everywhere = try await client.invokeScript(Script("return 'here'"), route: .allPrimaries)
        #expect(everywhere.perNodeValues?.count == 3)
        #expect(everywhere.perNodeValues?.values.allSatisfy { $0 == .bulkString("here") } == true)

        let library = "#!lua name=\(prefix.filter(\.isLetter))lib\nredis.register_function('hello', function() return 'hi' end)"
        let loaded = try await ServerFeatures.since(redis: "7.0", "FUNCTION") {
            try await client.functionLoad(library, replace: true, route: .allPrimaries)
        }
        guard loaded != nil else {
            await client.close()
            return
        }
        let called = try await client.fcall("hello", route: .allPrimaries)
        #expect(called.perNodeValues?.values.allSatisfy { $0 == .bulkString("hi") } == true)
        try await client.functionDelete("\(prefix.filter(\.isLetter))lib", route: .allPrimaries)
        await client.close()
    }
}
