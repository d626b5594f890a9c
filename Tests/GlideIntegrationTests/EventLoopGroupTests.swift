import Foundation
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Clients spread over the loops of an `EpollEventLoopGroup`: one loop each, in turn, so a loop
/// that is busy or blocked holds up only its own clients.
@Suite(.timeLimit(.minutes(5))) struct EventLoopGroupTests {
    @Test func clientsTakeTheGroupsLoopsInTurnAndABlockedLoopStallsOnlyItsOwn() async throws {
        let server = try await SharedServer.valkey()
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-test")
        defer { group.shutdown() }
        let configuration = server.configuration { $0.eventLoopGroup = group }
        // The first client's request waits out the hold, however long the test's own task takes
        // to run the second client's requests on a loaded machine: what is checked is that it
        // completes once its loop is free, not how soon.
        let first = try await GlideClient.create(configuration.with { $0.requestTimeout = .seconds(600) })
        let second = try await GlideClient.create(configuration)
        let third = try await GlideClient.create(configuration)
        #expect(first.core.loop === group.loops[0])
        #expect(second.core.loop === group.loops[1])
        #expect(third.core.loop === group.loops[0])
        #expect(first.configuration.eventLoop === group.loops[0])

        // Block the first loop's thread: the second client still answers, well inside its
        // request timeout; the first client's request waits and completes once the loop is free.
        let release = try await Self.hold(group.loops[0])
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

    @Test func aClusterClientSpreadsItsNodeConnectionsOverSeveralLoops() async throws {
        let cluster = try await SharedCluster.valkey()
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-spread")
        defer { group.shutdown() }
        let client = try await GlideClusterClient.create(
            cluster.configuration {
                $0.eventLoopGroup = group
                $0.eventLoopCount = 2
            })
        #expect(client.core.loop === group.loops[0])
        // Neighbouring primaries on different loops: the three are on both.
        #expect(Set(client.nodes.primaries().map { ObjectIdentifier($0.1.loop) }).count == 2)

        let prefix = SharedServer.uniqueKey()
        let (matched, mismatched) = try await LoopCallersTests.run(tasks: 150, rounds: 20, prefix: prefix) { key, value in
            try await client.set(key, value)
            return try await client.get(key, as: String.self)
        }
        #expect(matched == 150 * 20)
        #expect(mismatched.isEmpty, "\(mismatched.prefix(5))")

        // The server drops the connection of a primary on the second loop: the supervisor, on
        // the first, hears of it there and reconnects it (a cluster node's requests don't).
        let (address, connection) = try #require(client.nodes.primaries().first { $0.1.loop === group.loops[1] })
        let node = try #require(cluster.nodes.first { $0.address == address })
        let route = Route.byAddress(host: address.host, port: address.port)
        let before = try #require(try await client.customCommand(["CLIENT", "ID"], route: route).singleValue?.intValue)
        try await cluster.command(node, ["CLIENT", "KILL", "ID", "\(before)"])
        try await cluster.waitUntil("the client reconnected to \(address)") {
            guard connection.isReady.load(ordering: .relaxed) else { return false }
            let now = try await client.customCommand(["CLIENT", "ID"], route: route).singleValue?.intValue
            return now != nil && now != before
        }
        #expect(client.nodes.connection(to: address) === connection)

        // Closing waits for the second loop to let go of the connections it ran: while that
        // loop is held, close() has closed every connection but does not return.
        let connections = client.nodes.allNodes().map(\.1)
        let release = try await Self.hold(group.loops[1])
        let returned = Lock(false)
        let closing = Task {
            await client.close()
            returned.withLock { $0 = true }
        }
        try await cluster.waitUntil("close() closed every connection") {
            connections.allSatisfy { $0.machine.withLock { $0.phase } == .closed }
        }
        try await Task.sleep(for: .milliseconds(50))  // room for a close() that would not wait to return
        #expect(!returned.withLock { $0 })
        release.signal()
        await closing.value
        #expect(group.loops[1].pendingTimerCount == 0)
        #expect(await group.loops[1].registrationCount == 0)
    }

    @Test func aClusterClientTakesNoMoreLoopsThanItsGroupHas() async throws {
        let group = EpollEventLoopGroup(loopCount: 2, name: "group-count")
        defer { group.shutdown() }
        for count in [0, 3] {
            var configuration = GlideClusterClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: 7000)])
            configuration.eventLoopGroup = group
            configuration.eventLoopCount = count
            let error = await failure { _ = try await GlideClusterClient.create(configuration) }
            #expect(error?.code == .configuration)
            #expect(error?.message.contains("eventLoopCount") == true, "\(String(describing: error))")
        }
    }

    /// Blocks `loop`'s thread until the semaphore returned is signalled; returns once it is blocked.
    static func hold(_ loop: EpollEventLoop) async throws -> DispatchSemaphore {
        let release = DispatchSemaphore(value: 0)
        let held = DispatchSemaphore(value: 0)
        loop.execute {
            held.signal()
            release.wait()
        }
        try await offThePool { held.wait() }
        return release
    }
}
