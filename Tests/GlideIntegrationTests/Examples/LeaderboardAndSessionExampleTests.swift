import GlideTestSupport
import Testing

/// `Examples/leaderboard` and `Examples/session-store` against real servers and a cluster: their
/// output is the story they tell, line for line.
@Suite(.timeLimit(.minutes(5))) struct LeaderboardAndSessionExampleTests {
    static func leaderboard(_ label: String) -> [String] {
        [
            "\(label): top 3 -> 1. player-100 1000, 2. player-099 990, 3. player-098 980",
            "\(label): player-050 is at place 51",
            "\(label): page 2 -> places 11...20, from player-090 to player-081",
            "\(label): player-050 now has 1005 points, at place 1",
            "\(label): 30 players have 500 to 800 points",
            "\(label): a player with no games -> not ranked",
        ]
    }

    static func sessions(_ label: String) -> [String] {
        [
            "\(label): two sessions live -> 2",
            "\(label): ada uses hers -> user=ada",
            "\(label): grace's idle session -> expired",
            "\(label): ada's session -> user=ada, renewed to about 30 s",
            "\(label): ada logs out -> true",
            "\(label): ada's session after logout -> gone",
        ]
    }

    static func lines(_ product: String, _ arguments: [String]) async throws -> [String] {
        let output = try await GlideCLITests.run(try ServerBinaries.product(product), arguments)
        return output.split(separator: "\n").map(String.init)
    }

    @Test(arguments: ServerFlavor.allCases) func onAServer(_ flavor: ServerFlavor) async throws {
        let port = String(try await flavor.server().port)
        #expect(try await Self.lines("leaderboard", ["127.0.0.1", port]) == Self.leaderboard("standalone"))
        #expect(try await Self.lines("session-store", ["127.0.0.1", port]) == Self.sessions("standalone"))
    }

    @Test func onACluster() async throws {
        let port = String(try await SharedCluster.valkey().nodes[0].server.port)
        #expect(try await Self.lines("leaderboard", ["127.0.0.1", port, "--cluster"]) == Self.leaderboard("cluster"))
        #expect(try await Self.lines("session-store", ["127.0.0.1", port, "--cluster"]) == Self.sessions("cluster"))
    }
}
