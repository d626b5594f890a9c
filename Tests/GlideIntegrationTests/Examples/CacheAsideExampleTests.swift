import GlideTestSupport
import Testing

/// `Examples/cache-aside` (`make cache-aside-demo`) against a real server and a cluster: one read
/// of the slow source for 100 reads, almost all answered from the client's memory, and the first
/// read after another client's write sees the new value.
@Suite(.timeLimit(.minutes(5))) struct CacheAsideExampleTests {
    static func expectTheStory(_ output: String, label: String) {
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(output)")
        #expect(lines.first?.hasPrefix("\(label): 100 reads of lamp -> price ") == true, "\(output)")
        #expect(lines.first?.hasSuffix(", 1 read of the source") == true, "\(output)")
        #expect(lines.dropFirst().first == "\(label): served from the client's memory -> 97 or more of 100", "\(output)")
        #expect(lines.last == "\(label): the first read after another client's write -> price 999, invalidation seen", "\(output)")
    }

    @Test func onAServer() async throws {
        let server = try await SharedServer.valkey()
        let output = try await GlideCLITests.run(try ServerBinaries.product("cache-aside"), ["127.0.0.1", String(server.port)])
        Self.expectTheStory(output, label: "standalone")
    }

    @Test func onACluster() async throws {
        let port = String(try await SharedCluster.valkey().nodes[0].server.port)
        let output = try await GlideCLITests.run(try ServerBinaries.product("cache-aside"), ["127.0.0.1", port, "--cluster"])
        Self.expectTheStory(output, label: "cluster")
    }
}
