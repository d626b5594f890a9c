import GlideTestSupport
import Testing

/// `Examples/rate-limiter` (`make rate-limiter-demo`) against real servers: a burst is cut at the
/// limit, a refused caller is told when to come back and is let in then, and 50 concurrent
/// attempts let exactly the limit through.
@Suite(.timeLimit(.minutes(5))) struct RateLimiterExampleTests {
    static func expectTheStory(_ output: String, label: String) {
        let lines = output.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "\(label): a burst of 8 -> 5 allowed, 3 limited",
                "\(label): told to retry within the window -> true",
                "\(label): after the wait -> allowed",
                "\(label): 50 concurrent attempts -> 5 allowed",
            ], "\(output)")
    }

    @Test(arguments: ServerFlavor.allCases) func theWindowHoldsTheLimitAndFreesOnTime(_ flavor: ServerFlavor) async throws {
        let server = try await flavor.server()
        let example = try ServerBinaries.product("rate-limiter")
        Self.expectTheStory(try await GlideCLITests.run(example, ["127.0.0.1", String(server.port)]), label: "standalone")
    }

    @Test func theSameLimiterWorksOnACluster() async throws {
        let cluster = try await SharedCluster.valkey()
        let example = try ServerBinaries.product("rate-limiter")
        let output = try await GlideCLITests.run(example, ["127.0.0.1", String(cluster.nodes[0].server.port), "--cluster"])
        Self.expectTheStory(output, label: "cluster")
    }
}
