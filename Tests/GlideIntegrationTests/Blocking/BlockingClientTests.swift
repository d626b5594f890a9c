import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

/// The blocking clients from plain threads, many at once, and their refusal where blocking would
/// stall a loop or a thread of the concurrency pool.
@Suite(.timeLimit(.minutes(5))) struct BlockingClientTests {
    @Test func aPlainThreadUsesTheBlockingClientLikeAnyCallOfItsOwn() async throws {
        let server = try await SharedServer.valkey()
        let configuration = server.configuration()
        let key = SharedServer.uniqueKey()
        let (value, length, tracked) = try await offThePool { () throws -> (String?, Int, String?) in
            let client = try GlideBlockingClient.create(configuration)
            defer { client.close() }
            _ = try client.execute(SET(key, "hello"))
            let value = try client.execute(GET(key).decoding(as: String?.self))
            let length = try client.run { try await $0.strlen(key) }
            let echoed = try client.customCommand(["ECHO", "tracked"]).stringValue
            return (value, length, echoed)
        }
        #expect(value == "hello")
        #expect(length == 5)
        #expect(tracked == "tracked")
    }

    @Test func sixteenThreadsShareOneBlockingClient() async throws {
        let server = try await SharedServer.valkey()
        let configuration = server.configuration()
        let prefix = SharedServer.uniqueKey()
        let client = try await offThePool { try GlideBlockingClient.create(configuration) }
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for thread in 0..<16 {
                group.addTask {
                    try await offThePool {
                        var matched = 0
                        for index in 0..<100 {
                            _ = try client.execute(SET("\(prefix):\(thread):\(index)", "\(index)"))
                            if try client.execute(GET("\(prefix):\(thread):\(index)").decoding(as: String?.self)) == "\(index)" {
                                matched += 1
                            }
                        }
                        return matched
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(counts == 1600)
        try await offThePool { client.close() }
    }

    @Test func blockingIsRefusedInsideATaskAndOnAnEventLoop() async throws {
        let server = try await SharedServer.valkey()
        // This test body runs in a Swift task.
        let inTask = await failure { _ = try GlideBlockingClient.create(server.configuration()) }
        #expect(inTask?.code == .configuration)
        #expect(inTask?.message.contains("Swift task") == true)

        let client = try await offThePool { try GlideBlockingClient.create(server.configuration()) }
        // A task that runs on the client's loop thread: the loop must never wait for itself.
        let onLoop = await Task(executorPreference: client.client.taskExecutor) {
            await failure { _ = try client.execute(PING()) }
        }.value
        #expect(onLoop?.code == .configuration)
        #expect(onLoop?.message.contains("event loop") == true)
        // The client still works from a thread.
        #expect(try await offThePool { try client.customCommand(["PING"]).stringValue } == "PONG")
        try await offThePool { client.close() }
    }

    @Test func aBlockingClusterClientRoutesByKeyAndByRoute() async throws {
        let cluster = try await SharedCluster.valkey()
        let configuration = cluster.configuration()
        let keys = (0..<20).map { "\(SharedServer.uniqueKey()):\($0)" }
        let (values, pings) = try await offThePool { () throws -> ([String?], Int) in
            let client = try GlideBlockingClusterClient.create(configuration)
            defer { client.close() }
            for key in keys { _ = try client.execute(SET(key, key)) }
            let values = try keys.map { key throws(GlideError) in try client.execute(GET(key).decoding(as: String?.self)) }
            guard case .perNode(let replies) = try client.customCommand(["INFO", "server"], route: .allPrimaries) else {
                return (values, 0)
            }
            return (values, replies.count)
        }
        #expect(values == keys.map { Optional($0) })
        #expect(pings == 3)
    }
}
