import Foundation
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// Clients spread over the loops of an `EpollEventLoopGroup`: one loop each, in turn, so a loop
/// that is busy or blocked holds up only its own clients.
@Suite struct EventLoopGroupTests {
    @Test func clientsTakeTheGroupsLoopsInTurnAndABlockedLoopStallsOnlyItsOwn() async throws {
        let server = try await SharedServer.valkey()
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-test")
        defer { group.shutdown() }
        let configuration = server.configuration { $0.eventLoopGroup = group }
        let first = try await GlideClient.create(configuration)
        let second = try await GlideClient.create(configuration)
        let third = try await GlideClient.create(configuration)
        #expect(first.core.loop === group.loops[0])
        #expect(second.core.loop === group.loops[1])
        #expect(third.core.loop === group.loops[0])
        #expect(first.configuration.eventLoop === group.loops[0])

        // Block the first loop's thread: the second client still answers, well inside its
        // request timeout; the first client's request waits and completes once the loop is free.
        let release = DispatchSemaphore(value: 0)
        let blocked = DispatchSemaphore(value: 0)
        group.loops[0].execute {
            blocked.signal()
            release.wait()
        }
        try await offThePool { blocked.wait() }
        let key = SharedServer.uniqueKey()
        let waiting = Task { try await first.set(key, "from the first") }
        for index in 0..<50 { try await second.set("\(key):\(index)", "\(index)") }
        #expect(try await second.get("\(key):49", as: String.self) == "49")
        release.signal()
        _ = try await waiting.value
        #expect(try await third.get(key, as: String.self) == "from the first")
        for client in [first, second, third] { await client.close() }
    }

    @Test func eachClientRunsConcurrentCallersOnItsOwnLoop() async throws {
        let server = try await SharedServer.valkey()
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-load")
        defer { group.shutdown() }
        let configuration = server.configuration { $0.eventLoopGroup = group }
        var clients: [GlideClient] = []
        for _ in 0..<4 { clients.append(try await GlideClient.create(configuration)) }
        #expect(Set(clients.map { ObjectIdentifier($0.core.loop) }).count == 2)
        let prefix = SharedServer.uniqueKey()
        let matched = try await withThrowingTaskGroup(of: Int.self) { tasks in
            for task in 0..<200 {
                let client = clients[task % 4]
                tasks.addTask {
                    var matched = 0
                    for index in 0..<20 {
                        let key = "\(prefix):\(task):\(index)"
                        try await client.set(key, "\(task)-\(index)")
                        if try await client.get(key, as: String.self) == "\(task)-\(index)" { matched += 1 }
                    }
                    return matched
                }
            }
            return try await tasks.reduce(0, +)
        }
        #expect(matched == 4000)
        for client in clients { await client.close() }
    }

    @Test func clusterAndBlockingClientsTakeTheirLoopFromTheGroup() async throws {
        let cluster = try await SharedCluster.valkey()
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-cluster")
        defer { group.shutdown() }
        let configuration = cluster.configuration { $0.eventLoopGroup = group }
        let first = try await GlideClusterClient.create(configuration)
        let second = try await GlideClusterClient.create(configuration)
        #expect(first.core.loop === group.loops[0])
        #expect(second.core.loop === group.loops[1])
        let key = SharedServer.uniqueKey()
        try await first.set(key, "cluster")
        #expect(try await second.get(key, as: String.self) == "cluster")
        await first.close()
        await second.close()

        let server = try await SharedServer.valkey()
        let standalone = server.configuration { $0.eventLoopGroup = group }
        let blocking = try await offThePool { try GlideBlockingClient.create(standalone) }
        #expect(blocking.client.core.loop === group.loops[0])
        #expect(try await offThePool { try blocking.execute(PING()) } == "PONG")
        blocking.close()
    }
}
