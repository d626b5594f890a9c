import Glide
import GlideTestSupport
import Synchronization
import Testing

/// Many callers on the client's event-loop executor, against real servers: their requests leave
/// in one write per turn, and the loop writes every 32 resumed callers while it resumes the rest.
/// Every reply must still reach its own caller.
@Suite(.timeLimit(.minutes(5))) struct LoopCallersTests {
    @Test func twoHundredCallersOnTheLoopEachGetTheirOwnReplies() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let prefix = SharedServer.uniqueKey()
        let (matched, mismatched) = try await withTaskExecutorPreference(client.taskExecutor) {
            try await Self.run(tasks: 200, rounds: 25, prefix: prefix) { key, value in
                try await client.set(key, value)
                _ = try await client.incr("\(prefix):count")
                return try await client.get(key, as: String.self)
            }
        }
        #expect(matched == 200 * 25)
        #expect(mismatched.isEmpty, "\(mismatched.prefix(5))")
        #expect(try await client.get("\(prefix):count", as: Int.self) == 200 * 25)
        await client.close()
    }

    @Test func callersOnTheLoopOfAClusterClientEachGetTheirOwnReplies() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        // Keys spread over every shard: one write per connection per turn, three connections.
        let (matched, mismatched) = try await withTaskExecutorPreference(client.taskExecutor) {
            try await Self.run(tasks: 150, rounds: 20, prefix: prefix) { key, value in
                try await client.set(key, value)
                return try await client.get(key, as: String.self)
            }
        }
        #expect(matched == 150 * 20)
        #expect(mismatched.isEmpty, "\(mismatched.prefix(5))")
        await client.close()
    }

    /// `tasks` concurrent callers, each writing and reading back `rounds` keys of its own; how many
    /// read back their own value, and what came back instead for the others.
    static func run(
        tasks: Int, rounds: Int, prefix: String,
        _ roundTrip: @escaping @Sendable (_ key: String, _ value: String) async throws -> String?
    ) async throws -> (Int, [String]) {
        try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var matched = 0
                    var mismatched: [String] = []
                    for round in 0..<rounds {
                        let key = "\(prefix):\(task):\(round)"
                        let value = "\(task)-\(round)"
                        let got = try await roundTrip(key, value)
                        if got == value { matched += 1 } else { mismatched.append("\(key): \(got ?? "nil")") }
                    }
                    return (matched, mismatched)
                }
            }
            var matched = 0
            var mismatched: [String] = []
            for try await (count, wrong) in group {
                matched += count
                mismatched += wrong
            }
            return (matched, mismatched)
        }
    }
}
