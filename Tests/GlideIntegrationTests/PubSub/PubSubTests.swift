import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// Subscriptions and their messages against a real server, through faults.
@Suite(.timeLimit(.minutes(5))) struct PubSubTests {
    /// Takes `count` messages from `stream`, failing when none arrives for `timeout`: a stalled
    /// stream fails, a slow one (a machine busy with other tests) does not.
    static func take(_ count: Int, from stream: AsyncStream<PubSubMessage>, timeout: Duration = TestTiming.bound(.seconds(10))) async throws
        -> [PubSubMessage]
    {
        let progress = Progress()
        return try await withThrowingTaskGroup(of: [PubSubMessage]?.self) { group in
            group.addTask {
                // Ends with what it has when the wait is over (a cancelled iteration stops).
                var taken: [PubSubMessage] = []
                for await message in stream {
                    taken.append(message)
                    progress.taken.store(taken.count, ordering: .relaxed)
                    if taken.count == count { break }
                }
                return taken
            }
            group.addTask {
                var seen = -1
                while case let now = progress.taken.load(ordering: .relaxed), now != seen {
                    seen = now
                    try await Task.sleep(for: timeout)
                }
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            if let messages = first, messages.count == count { return messages }
            let partial = try await group.next().flatMap { $0 } ?? first ?? []
            throw GlideError(
                .timeout,
                "\(partial.count) of \(count) messages arrived, then none for \(timeout); the last: \(partial.suffix(3).map(\.message))")
        }
    }

    /// How many messages `take` has so far, for its watchdog.
    final class Progress: Sendable {
        let taken = Atomic<Int>(0)
    }

    /// A client of `server` subscribed, from its configuration, to `subscriptions`.
    static func subscriber(of server: TestServer, _ subscriptions: PubSubSubscriptions, bufferCapacity: Int = 10_000)
        async throws -> GlideClient
    {
        try await server.client { $0.pubsub = PubSubConfiguration(subscriptions: subscriptions, bufferCapacity: bufferCapacity) }
    }

    @Test func tenThousandMessagesArriveInOrderAndPatternMessagesCarryTheirPattern() async throws {
        let server = try await SharedServer.valkey()
        let channel = SharedServer.uniqueKey("news")
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(exact: [channel], pattern: ["\(channel).ev.*"]))
        let publisher = try await server.client()
        let state = await subscriber.getSubscriptions()
        #expect(state.actual.exact == [channel] && state.actual.pattern == ["\(channel).ev.*"])
        let stream = subscriber.pubsubMessages()
        let receiving = Task { try await Self.take(10_002, from: stream) }
        for index in 0..<10_000 { #expect(try await publisher.publish("m\(index)", to: channel) == 1) }
        _ = try await publisher.publish("p0", to: "\(channel).ev.a")
        _ = try await publisher.publish("p1", to: "\(channel).ev.b")
        let messages = try await receiving.value
        #expect(messages.prefix(10_000).map(\.message) == (0..<10_000).map { "m\($0)" })
        #expect(messages.prefix(10_000).allSatisfy { $0.channelName == channel && $0.pattern == nil })
        #expect(messages.suffix(2).map(\.message) == ["p0", "p1"])
        #expect(messages.suffix(2).map(\.channelName) == ["\(channel).ev.a", "\(channel).ev.b"])
        #expect(messages.suffix(2).allSatisfy { $0.patternName == "\(channel).ev.*" })
        await subscriber.close()
        await publisher.close()
    }

    @Test func subscribeAndUnsubscribeAtRunTime() async throws {
        let server = try await SharedServer.valkey()
        let channel = SharedServer.uniqueKey("dynamic")
        let subscriber = try await server.client()
        let publisher = try await server.client()
        #expect(try await publisher.publish("nobody", to: channel) == 0)
        try await subscriber.subscribe([channel])
        #expect(await subscriber.getSubscriptions().actual.exact == [channel])
        #expect(try await publisher.publish("hello", to: channel) == 1)
        #expect(try await Self.take(1, from: subscriber.pubsubMessages()).map(\.message) == ["hello"])
        // Commands keep working on the same connection.
        #expect(try await subscriber.ping() == "PONG")
        try await subscriber.unsubscribe([channel])
        let state = await subscriber.getSubscriptions()
        #expect(state.desired.exact.isEmpty && state.actual.exact.isEmpty)
        #expect(try await publisher.publish("gone", to: channel) == 0)
        await subscriber.close()
        await publisher.close()
    }

    @Test func aKilledSubscriberConnectionResubscribesAndLaterMessagesArrive() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(exact: ["alerts"]))
        let publisher = try await server.client()
        let resubscriptions = subscriber.getStatistics().pubsubResubscriptions
        let killedAt = ContinuousClock.now
        let killed = try await publisher.customCommand(["CLIENT", "KILL", "TYPE", "pubsub"])
        #expect(killed.intValue == 1)
        // Back within a second: the subscriber connection is reopened and subscribed again.
        try await Polling.waitUntil(
            "the server counts the subscriber again", timeout: TestTiming.bound(.seconds(1)), interval: .milliseconds(5)
        ) {
            try await publisher.customCommand(["PUBSUB", "NUMSUB", "alerts"]).arrayValue?.last?.intValue == 1
        }
        print("pubsub: resubscribed \(ContinuousClock.now - killedAt) after CLIENT KILL TYPE pubsub")
        // The server counts the subscriber once it ran the SUBSCRIBE; the client counts the repair
        // once it has read the confirmation, a moment later.
        try await Polling.waitUntil("the client counts the resubscription", timeout: TestTiming.bound(.seconds(1))) {
            subscriber.getStatistics().pubsubResubscriptions > resubscriptions
        }
        #expect(try await publisher.publish("after", to: "alerts") == 1)
        #expect(try await Self.take(1, from: subscriber.pubsubMessages()).map(\.message) == ["after"])
        await subscriber.close()
        await publisher.close()
    }

    @Test func aServerRestartResubscribes() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(pattern: ["jobs.*"]))
        await server.kill()
        try await server.restart()
        let publisher = try await server.client()
        // The client records the pattern once the server confirmed it, so the server counts it by then.
        try await Polling.waitUntil("the pattern is subscribed again", timeout: TestTiming.bound(.seconds(10)), interval: .milliseconds(10))
        {
            await subscriber.getSubscriptions().actual.pattern == ["jobs.*"]
        }
        #expect(try await publisher.customCommand(["PUBSUB", "NUMPAT"]).intValue == 1)
        #expect(try await publisher.publish("restarted", to: "jobs.1") == 1)
        let message = try #require(try await Self.take(1, from: subscriber.pubsubMessages()).first)
        #expect(message.message == "restarted" && message.patternName == "jobs.*")
        await subscriber.close()
        await publisher.close()
    }

    @Test func aSlowConsumerLosesTheOldestMessagesCountedAndNothingElse() async throws {
        let server = try await SharedServer.valkey()
        let channel = SharedServer.uniqueKey("slow")
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(exact: [channel]), bufferCapacity: 10)
        let publisher = try await server.client()
        let droppedBefore = subscriber.getStatistics().pubsubMessagesDropped
        for index in 0..<100 { _ = try await publisher.publish("m\(index)", to: channel) }
        // A PING behind the messages on the same connection: once it is answered, every message was read.
        #expect(try await subscriber.ping() == "PONG")
        #expect(subscriber.getStatistics().pubsubMessagesDropped - droppedBefore >= 90)
        let kept = try await Self.take(10, from: subscriber.pubsubMessages())
        #expect(kept.map(\.message) == (90..<100).map { "m\($0)" })
        await subscriber.close()
        await publisher.close()
    }

    @Test func twoHundredTasksRunCommandsWhileMessagesArriveWithNoMixUp() async throws {
        let server = try await SharedServer.valkey()
        let channel = SharedServer.uniqueKey("busy")
        let prefix = SharedServer.uniqueKey("busy-key")
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(exact: [channel]))
        let publisher = try await server.client()
        let stream = subscriber.pubsubMessages()
        let receiving = Task { try await Self.take(2_000, from: stream) }
        let publishing = Task {
            for index in 0..<2_000 { _ = try await publisher.publish("m\(index)", to: channel) }
        }
        let mismatches = try await Workloads.setGetMismatches(on: subscriber, prefix: prefix, rounds: 20)
        try await publishing.value
        #expect(mismatches == 0)
        #expect(try await receiving.value.map(\.message) == (0..<2_000).map { "m\($0)" })
        await subscriber.close()
        await publisher.close()
    }

    @Test func twoConsumersEachGetEveryMessage() async throws {
        let server = try await SharedServer.valkey()
        let channel = SharedServer.uniqueKey("fan-out")
        let subscriber = try await Self.subscriber(of: server, PubSubSubscriptions(exact: [channel]))
        let publisher = try await server.client()
        let first = subscriber.pubsubMessages()
        let second = subscriber.pubsubMessages()
        let receiving = [first, second].map { stream in Task { try await Self.take(100, from: stream) } }
        for index in 0..<100 { _ = try await publisher.publish("m\(index)", to: channel) }
        for task in receiving {
            #expect(try await task.value.map(\.message) == (0..<100).map { "m\($0)" })
        }
        await subscriber.close()
        await publisher.close()
    }

    @Test func aChannelTheACLForbidsIsRefusedTypedAndReportedWhileOthersWork() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let admin = try await server.client()
        _ = try await admin.customCommand([
            "ACL", "SETUSER", "listener", "on", ">listener-pass-5", "~*", "resetchannels",
            "&news:*", "+@all",
        ])
        let client = try await server.client { $0.credentials = ServerCredentials(password: "listener-pass-5", username: "listener") }
        try await client.subscribe(["news:1"])
        let refused = await failure { try await client.subscribe(["secret"]) }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.serverCode == "NOPERM")
        let state = await client.getSubscriptions()
        #expect(state.desired.exact == ["news:1"] && state.actual.exact == ["news:1"])
        #expect(state.refused["secret"]?.contains("NOPERM") == true)
        // The connection goes on serving commands and the allowed channel.
        #expect(try await client.ping() == "PONG")
        #expect(try await admin.publish("still here", to: "news:1") == 1)
        #expect(try await Self.take(1, from: client.pubsubMessages()).map(\.message) == ["still here"])
        await client.close()
        await admin.close()
    }

    @Test func withResp2SubscriptionsHaveAConnectionOfTheirOwnAndSurviveItsLoss() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let channel = "resp2-news"
        let subscriber = try await server.client {
            $0.protocolVersion = .resp2
            $0.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(exact: [channel], pattern: ["resp2.*"]))
        }
        let publisher = try await server.client()
        try await subscriber.subscribe(["resp2-more"])
        #expect(await subscriber.getSubscriptions().actual == PubSubSubscriptions(exact: [channel, "resp2-more"], pattern: ["resp2.*"]))
        // The shared connection still serves commands: the subscriptions are elsewhere.
        try await subscriber.set("k", "v")
        #expect(try await subscriber.get("k") == "v")
        let clients = try await publisher.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        #expect(clients.split(separator: "\n").filter { $0.contains("sub=2") && $0.contains("psub=1") }.count == 1)

        let stream = subscriber.pubsubMessages()
        let receiving = Task { try await Self.take(1_002, from: stream) }
        for index in 0..<1_000 { #expect(try await publisher.publish("m\(index)", to: channel) == 1) }
        _ = try await publisher.publish("p", to: "resp2.x")
        _ = try await publisher.publish("more", to: "resp2-more")
        let messages = try await receiving.value
        #expect(messages.prefix(1_000).map(\.message) == (0..<1_000).map { "m\($0)" })
        #expect(messages[1_000].patternName == "resp2.*" && messages[1_000].message == "p")
        #expect(messages[1_001].channelName == "resp2-more")

        // The subscriber connection is killed: it comes back subscribed.
        #expect(try await publisher.customCommand(["CLIENT", "KILL", "TYPE", "pubsub"]).intValue == 1)
        try await Polling.waitUntil(
            "the server counts the subscriber again", timeout: TestTiming.bound(.seconds(1)), interval: .milliseconds(5)
        ) {
            try await publisher.customCommand(["PUBSUB", "NUMSUB", channel]).arrayValue?.last?.intValue == 1
        }
        #expect(try await publisher.publish("after", to: channel) == 1)
        // The stream opened above is still open, so it is the one that gets what follows.
        #expect(try await Self.take(1, from: stream).map(\.message) == ["after"])
        try await subscriber.unsubscribe()
        try await subscriber.punsubscribe()
        #expect(try await publisher.publish("gone", to: channel) == 0)
        #expect(try await subscriber.get("k") == "v")
        await subscriber.close()
        await publisher.close()
    }

    @Test func shardedChannelsNeedACluster() async throws {
        let server = try await SharedServer.valkey()
        let sharded = await failure {
            _ = try await server.client { $0.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(sharded: ["x"])) }
        }
        #expect(sharded?.code == .configuration)
    }
}
