import Foundation
import Glide
import GlideTestSupport
import Testing

/// glide-cli's operator modes print what redis-cli 7.0's print: byte for byte where the figures
/// are the same (`--bigkeys`, `--scan`, `--stat`'s header), line by line in shape where they are
/// measurements (`--latency`, `--latency-history`, `--stat`'s figures). With `-c` they cover the
/// whole cluster.
@Suite(.timeLimit(.minutes(5))) struct GlideCLIOperatorTests {
    /// Keys of every type, a name that needs quoting, and 300 strings of sizes up to 49, so
    /// `--bigkeys` walks many SCAN pages and reports progress past 0%.
    static func keyspace(_ server: TestServer) async throws {
        let client = try await server.client()
        for command in [
            ["SET", "str1", "hello"], ["SET", "str2", "abcdefghijklmnopqrstuvwxyz"], ["RPUSH", "list1", "a", "b", "c"],
            ["RPUSH", "list2", "x"], ["ZADD", "zset1", "1", "a", "2", "b", "3", "c", "4", "d"],
            ["HSET", "hash1", "a", "1", "b", "2", "c", "3"], ["SADD", "set1", "a", "b"], ["XADD", "stream1", "*", "a", "1"],
            ["XADD", "stream1", "*", "b", "2"], ["SET", "weird \"key\"\n", "v"],
        ] {
            _ = try await client.customCommand(command)
        }
        for index in 1...300 { try await client.set("k:\(index)", String(repeating: "x", count: index % 50)) }
        await client.close()
    }

    @Test func bigkeysAndScanPrintWhatRedisCLIPrints() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let reference = try ServerBinaries.redisCLI()
        let glide = try ServerBinaries.product("glide-cli")
        let port = ["-p", String(server.port)]
        // An empty keyspace first: its summary lists the types in another order.
        #expect(try await Self.run(glide, port + ["--bigkeys"]) == (try await Self.run(reference, port + ["--bigkeys"])))
        try await Self.keyspace(server)
        let bigkeys = try await Self.run(glide, port + ["--bigkeys"])
        #expect(bigkeys == (try await Self.run(reference, port + ["--bigkeys"])))
        #expect(bigkeys.contains("Sampled 309 keys in the keyspace!"))
        // Which of k:49, k:99, … comes first is the server's hash order, seeded at its start.
        #expect(bigkeys.range(of: #"Biggest string found '"k:\d+"' has 49 bytes"#, options: .regularExpression) != nil)
        #expect(bigkeys.contains("Biggest stream found '\"stream1\"' has 2 entries"))
        for mode in [["--scan"], ["--scan", "--pattern", "str*"], ["--no-raw", "--scan"], ["--scan", "--quoted-pattern", "weird*"]] {
            let printed = try await Self.run(glide, port + mode)
            #expect(printed == (try await Self.run(reference, port + mode)), "\(mode)")
            #expect(!printed.isEmpty)
        }
        // --count (valkey-cli's; redis-cli 7.0 has none) changes the pages, not the keys.
        let counted = try await Self.run(glide, port + ["--scan", "--count", "1000"])
        #expect(counted.split(separator: "\n").sorted() == (try await Self.run(glide, port + ["--scan"])).split(separator: "\n").sorted())
    }

    @Test func latencyOnAPipeSamplesForTheIntervalThenPrintsOneLine() async throws {
        let server = try await SharedServer.valkey()
        let reference = try ServerBinaries.redisCLI()
        let glide = try ServerBinaries.product("glide-cli")
        for (format, pattern) in [([String](), #"^\d+ \d+ \d+\.\d\d \d+\n$"#), (["--csv"], #"^\d+,\d+,\d+\.\d\d,\d+\n$"#)] {
            let arguments = ["-p", String(server.address.port), "--latency", "-i", "0.3"] + format
            for binary in [reference, glide] {
                let printed = try await Self.run(binary, arguments)
                #expect(printed.range(of: pattern, options: .regularExpression) != nil, "\(binary) \(format): \(printed)")
            }
        }
    }

    @Test func latencyHistoryAndStatPrintLinesOfTheSameShape() async throws {
        // A server of its own: the shared one's figures move with the suite (a save in progress
        // adds a column), and this compares the lines' shape.
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let reference = try ServerBinaries.redisCLI()
        let glide = try ServerBinaries.product("glide-cli")
        let port = ["-p", String(server.address.port)]
        for binary in [reference, glide] {
            let history = try await Self.runFor(TestTiming.bound(.milliseconds(1_400)), binary, port + ["--latency-history", "-i", "0.5"])
            let lines = history.split(separator: "\n").map(String.init)
            #expect(
                lines.contains { $0.range(of: #"^ -- \d+\.\d\d seconds range$"#, options: .regularExpression) != nil },
                "\(binary): \(history)")
            #expect(
                lines.allSatisfy {
                    $0.range(of: #"^(\d+ \d+ \d+\.\d\d \d+| -- \d+\.\d\d seconds range)$"#, options: .regularExpression) != nil
                })
        }
        let header =
            "------- data ------ --------------------- load -------------------- - child -\n"
            + "keys       mem      clients blocked requests            connections          \n"
        // Columns of 11, 8, 1 + 8, 8, 19 and 1 + 12, as redis-cli pads them.
        let line = #"^\d+ {1,10}\d+(\.\d\d)?[BKMG] +\d+ +\d+ +\d+ \(\+\d+\) +\d+ +$"#
        for binary in [reference, glide] {
            let stat = try await Self.runFor(TestTiming.bound(.milliseconds(1_300)), binary, port + ["--stat", "-i", "0.5"])
            #expect(stat.hasPrefix(header), "\(binary): \(stat)")
            // The header comes again before every 20 lines of figures (a long run, as under the
            // sanitizers, prints more than 20).
            let lines = stat.split(separator: "\n").map(String.init)
            let headers = header.split(separator: "\n").map(String.init)
            for (index, text) in lines.enumerated() where text == headers[0] {
                #expect(index % 22 == 0 && lines.indices.contains(index + 1) && lines[index + 1] == headers[1], "\(binary): \(lines)")
            }
            let figures = lines.filter { !headers.contains($0) }
            #expect(figures.count >= 2)
            #expect(
                figures.allSatisfy { $0.count == 68 && $0.range(of: line, options: .regularExpression) != nil }, "\(binary): \(figures)")
            #expect(figures.first?.contains("(+0)") == true)
        }
    }

    @Test func withClusterTheModesCoverEveryPrimary() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey("cli-scan")
        let keys = (0..<60).map { "\(prefix):\($0)" }
        for key in keys { try await client.set(key, "v") }
        let glide = try ServerBinaries.product("glide-cli")
        let port = String(cluster.seeds[0].port)
        let scanned = try await Self.run(glide, ["-c", "-p", port, "--scan", "--pattern", "\(prefix):*"])
        #expect(scanned.split(separator: "\n").map(String.init).sorted() == keys.sorted())
        let bigkeys = try await Self.run(glide, ["-c", "-p", port, "--bigkeys", "--pattern", "\(prefix):*"])
        #expect(bigkeys.contains("Sampled 60 keys in the keyspace!"), "\(bigkeys)")
        #expect(bigkeys.contains("60 strings with 60 bytes"))
        await client.close()
    }

    /// Runs `binary` to its exit and returns what it printed.
    static func run(_ binary: String, _ arguments: [String]) async throws -> String {
        try await offThePool { try Command.run(binary, arguments, keepErrors: false).output }
    }

    /// Runs `binary` for `duration` (the modes that never end), line-buffered as on a terminal,
    /// and returns what it printed by then.
    static func runFor(_ duration: Duration, _ binary: String, _ arguments: [String]) async throws -> String {
        let seconds = String(format: "%.3f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        return try await offThePool {
            try Command.run("/usr/bin/timeout", [seconds, "/usr/bin/stdbuf", "-oL", binary] + arguments, keepErrors: false).output
        }
    }
}
