import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ConcurrencyTests {
    @Test func twoHundredTasksShareOneConnectionAndEachGetsItsOwnReplies() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let prefix = SharedServer.uniqueKey()
        let connectionsBefore = try await client.customCommand(["CLIENT", "ID"]).intValue
        #expect(try await Workloads.setGetMismatches(on: client, prefix: prefix, rounds: 500) == 0)
        // Still the one connection it started with.
        #expect(try await client.customCommand(["CLIENT", "ID"]).intValue == connectionsBefore)
        let clients = try await client.customCommand(["CLIENT", "LIST", "ID", String(connectionsBefore ?? 0)])
        #expect(clients.stringValue?.contains("cmd=client") == true)
        await client.close()
    }

    @Test func concurrentTransactionsStayWhole() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let transaction = Transaction()
                    for _ in 0..<50 { transaction.incr(key) }
                    let results = try await client.exec(transaction)
                    // Atomic: the 50 increments of one transaction are consecutive numbers.
                    let numbers = results?.compactMap(\.intValue) ?? []
                    #expect(numbers.count == 50)
                    #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 + 1 })
                }
            }
            try await group.waitForAll()
        }
        #expect(try await client.get(key) == "1000")
        await client.close()
    }
}
