import Foundation
import Glide
import GlideTestSupport
import Testing

/// glide-cli prints every RESP type as valkey-cli does: both tools run the same commands against
/// the same server, RESP2 and RESP3, and their output must be byte for byte the same.
@Suite(.timeLimit(.minutes(5))) struct GlideCLITests {
    /// The data the compared commands read, written once.
    static let setup: [[String]] = [
        ["SET", "cli:k", "v"],
        ["RPUSH", "cli:l", "a", "b c", "d\"e", "tab\there", "line\nbreak", "\u{01}\u{7f}", "é"],
        ["HSET", "cli:h", "f1", "v1", "f2", "v2"], ["SADD", "cli:s", "x"],
        ["ZADD", "cli:z", "1.5", "m", "2", "n", "-3.25", "o"],
        ["RPUSH", "cli:long", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"],
    ]

    /// Commands whose replies cover the types and give the same reply each time: status, error,
    /// integer, bulk (escapes included), nil, arrays (empty, nested, more than 9 entries), maps,
    /// sets, booleans and doubles on RESP3.
    static let commands: [[String]] = [
        ["SET", "cli:same", "v"], ["GET", "cli:k"], ["GET", "cli:missing"], ["STRLEN", "cli:k"],
        ["LRANGE", "cli:l", "0", "-1"], ["LRANGE", "cli:empty", "0", "-1"],
        ["HGETALL", "cli:h"], ["HGETALL", "cli:nohash"], ["SMEMBERS", "cli:s"],
        ["ZRANGE", "cli:z", "0", "-1", "WITHSCORES"], ["ZSCORE", "cli:z", "n"], ["ZSCORE", "cli:z", "o"],
        ["LRANGE", "cli:long", "0", "-1"], ["NOSUCHCOMMAND", "x"], ["INCR", "cli:k"],
        ["EXISTS", "cli:k", "cli:missing"], ["SCAN", "0", "MATCH", "cli:nothing*", "COUNT", "1000"],
        // Booleans (RESP3 `#t`/`#f`, RESP2 `:1`/nil) and a double from a script.
        ["EVAL", "return true", "0"], ["EVAL", "return false", "0"], ["EVAL", "return {double=2.5}", "0"],
    ]

    /// A server holding `setup`'s data.
    static func server() async throws -> TestServer {
        let server = try await TestServer.startValkey()
        let client = try await server.client()
        for command in setup { _ = try await client.customCommand(command) }
        await client.close()
        return server
    }

    @Test(arguments: [false, true])
    func everyReplyTypePrintsAsValkeyCLIPrintsIt(resp3: Bool) async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let reference = try ServerBinaries.referenceCLI()
        let glide = try ServerBinaries.product("glide-cli")
        let common = ["-p", String(server.port), "--no-raw"] + (resp3 ? ["-3"] : [])
        for command in Self.commands {
            let expected = try await Self.run(reference, common + command)
            let printed = try await Self.run(glide, common + command)
            #expect(printed == expected, "\(command.joined(separator: " ")) on RESP\(resp3 ? 3 : 2)")
        }
    }

    @Test func rawOutputAndCommandsOnStandardInputMatchToo() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let reference = try ServerBinaries.referenceCLI()
        let glide = try ServerBinaries.product("glide-cli")
        // Raw asked for, and raw as the default on a pipe (no mode given), on both protocols: a
        // RESP3 map prints one `key value` pair per line.
        for mode in [["--raw"], []] {
            for protocolFlag in [[], ["-3"]] {
                for command in Self.commands {
                    let arguments = ["-p", String(server.port)] + mode + protocolFlag + command
                    let expected = try await Self.run(reference, arguments)
                    let printed = try await Self.run(glide, arguments)
                    #expect(printed == expected, "\(mode + protocolFlag) \(command)")
                }
            }
        }
        // redis-cli 7.0 can't print a RESP3 big number raw ("Unknown reply type"); glide-cli
        // prints its digits, as current valkey-cli does.
        // (Scripts return big numbers since Redis 7.0.)
        let big = ["-p", String(server.port), "-3", "EVAL", "return {big_number='123456789012345678901234567890'}", "0"]
        if ServerFeatures.has(redis: "7.0") {
            #expect(try await Self.run(glide, big) == "123456789012345678901234567890\n")
        } else {
            print("\(ServerBinaries.mainServer.version): scripts return no big numbers (Redis 7.0)")
        }
        // One command per line, quoted as valkey-cli quotes them; output as on a pipe (raw).
        let script =
            "SET cli:piped \"two words\"\nGET cli:piped\nSET cli:quoted 'it\\'s'\nGET cli:quoted\n"
            + "SET cli:escaped \"a\\tb\\x41\"\nGET cli:escaped\nLRANGE cli:long 0 2\nGET cli:none\nNOSUCHCOMMAND\n"
        let arguments = ["-p", String(server.port)]
        #expect(try await Self.run(glide, arguments, input: script) == (try await Self.run(reference, arguments, input: script)))
    }

    @Test func aClusterReplyFromSeveralNodesNamesEachNode() async throws {
        let cluster = try await SharedCluster.valkey()
        let glide = try ServerBinaries.product("glide-cli")
        let port = String(cluster.seeds[0].port)
        let keyed = try await Self.run(glide, ["-c", "-p", port, "--no-raw", "SET", SharedServer.uniqueKey(), "v"])
        #expect(keyed == "OK\n")
        let perNode = try await Self.run(glide, ["-c", "-p", port, "--no-raw", "INFO", "server"])
        let headers = perNode.split(separator: "\n").filter { $0.hasPrefix("127.0.0.1:") && $0.hasSuffix(":") }
        #expect(headers.count == (try await cluster.primaries().count))
    }

    /// Runs `binary` with `arguments` (and `input` on its standard input) and returns its output.
    static func run(_ binary: String, _ arguments: [String], input: String? = nil) async throws -> String {
        try await offThePool { try Command.run(binary, arguments, input: input ?? "", keepErrors: false).output }
    }
}
