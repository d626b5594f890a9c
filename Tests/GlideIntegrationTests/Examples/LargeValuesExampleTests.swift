import GlideTestSupport
import Testing

/// `Examples/large-values` (`make large-values-demo`) in a process of its own, whose peak memory
/// is its own: 256 MiB streamed up and down in 1 MiB chunks, every byte checked, then read with a
/// plain `GET` for comparison.
@Suite(.timeLimit(.minutes(5))) struct LargeValuesExampleTests {
    /// The peak memory growth the example printed on the line starting with `prefix`, in MiB.
    static func growth(_ output: String, _ prefix: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
            let figure = line.split(separator: " ").dropLast().last
        else { return nil }
        return Int(figure)
    }

    /// The example's output. Under AddressSanitizer (`make asan`) without its quarantine, which
    /// would hold every freed chunk and count it as the client's; other builds ignore the variable.
    static func run(_ arguments: [String]) async throws -> String {
        try await GlideCLITests.run(
            "/usr/bin/env", ["ASAN_OPTIONS=quarantine_size_mb=0", try ServerBinaries.product("large-values")] + arguments)
    }

    static func expectTheStory(_ output: String, mib: Int) throws {
        print("large values: \(output.replacingOccurrences(of: "\n", with: "; "))")
        let streamed = try #require(Self.growth(output, "streamed \(mib) MiB up and \(mib) MiB down"), "\(output)")
        let plain = try #require(Self.growth(output, "a plain GET of it (\(mib) MiB)"), "\(output)")
        // Streamed: a few chunks' worth and the allocator's slack (about 8 MiB here, more under
        // AddressSanitizer's red zones), whatever the value's size. A plain GET holds it whole.
        #expect(streamed <= 48, "\(output)")
        #expect(plain >= mib, "\(output)")
    }

    @Test func twoHundredFiftySixMiBGoUpAndDownInChunksWithoutTheClientHoldingThem() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let output = try await Self.run(["127.0.0.1", String(server.port), "--mib", "256"])
        try Self.expectTheStory(output, mib: 256)
    }

    /// On a cluster of its own: Redis 7.0 spends 25–37 ms on each `APPEND` to a value of tens of
    /// MiB, and on the shared cluster those stalls timed out other suites' requests (their
    /// timeouts are 10–200 ms).
    @Test func onACluster() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 0)
        defer { cluster.stop() }
        let output = try await Self.run(["127.0.0.1", String(cluster.nodes[0].server.port), "--cluster", "--mib", "64"])
        try Self.expectTheStory(output, mib: 64)
    }
}
