import Foundation
import GlideTestSupport
import GlideTopology
import GlideTransport
import Testing

@testable import GlideClient

/// Cluster subscriptions against a real 3-primary/3-replica cluster of their own, through slot
/// moves, a coordinated failover and a crashed node (a short node timeout makes the crash
/// failover quick).
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterPubSubTests {
    static let cluster = Task { try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000) }

    /// A cluster client subscribed, from its configuration, to `subscriptions`.
    static func subscriber(of cluster: TestCluster, _ subscriptions: PubSubSubscriptions) async throws -> GlideClusterClient {
        try await cluster.client {
            $0.pubsub = PubSubConfiguration(subscriptions: subscriptions)
            $0.requestTimeout = .seconds(2)
        }
    }

    /// Whether the cluster's servers have sharded pub/sub (Redis 7). On an older one, a client
    /// configured with a sharded channel must fail at `create` with the server's refusal of
    /// `SSUBSCRIBE`: that is checked, and the test says so and ends.
    static func hasShardedPubSub(_ cluster: TestCluster) async throws -> Bool {
        let probe = try await ServerFeatures.since(redis: "7.0", "sharded pub/sub") {
            try await Self.subscriber(of: cluster, PubSubSubscriptions(sharded: [SharedServer.uniqueKey("probe")]))
        }
        await probe?.close()
        return probe != nil
    }

    /// How long after now the subscriber first receives a message on `channel` published after
    /// now: `publisher` publishes a numbered message every 10 ms until one arrives. Fails when
    /// none arrives within `limit`.
    static func resumption(
        of channel: String, sharded: Bool, publisher: GlideClusterClient, stream: AsyncStream<PubSubMessage>,
        limit: Duration = TestTiming.bound(.seconds(5))
    ) async throws -> Duration {
        try await resumption(of: channel, stream: stream, limit: limit) { message in
            _ = try await publisher.publish(message, to: channel, sharded: sharded)
        }
    }

    /// `resumption`, publishing with `publish`.
    static func resumption(
        of channel: String, stream: AsyncStream<PubSubMessage>, limit: Duration,
        publish: @escaping @Sendable (String) async throws -> Void
    ) async throws -> Duration {
        let start = ContinuousClock.now
        let marker = "after-\(UUID().uuidString)"
        let publishing = Task {
            var index = 0
            while !Task.isCancelled {
                // A publish during the change may fail or reach no one; the next one is sent anyway.
                try? await publish("\(marker)-\(index)")
                index += 1
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { publishing.cancel() }
        let arrived = try await withThrowingTaskGroup(of: Duration?.self) { group in
            group.addTask {
                for await message in stream where message.channelName == channel && message.message.hasPrefix(marker) {
                    return ContinuousClock.now - start
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        return try #require(arrived, "no message on \(channel) within \(limit)")
    }

    /// A channel whose slot `node` serves.
    static func channel(servedBy node: TestCluster.Node, in cluster: TestCluster, prefix: String) async throws -> String {
        for index in 0..<10_000 {
            let channel = "\(prefix)-\(index)"
            if try await cluster.primary(forSlot: HashSlot.of(channel)).id == node.id { return channel }
        }
        throw GlideError(.routing, "no channel of \(prefix) hashes to \(node)")
    }

    /// A subscriber to one sharded channel that `primary` serves, a publisher, and the messages.
    struct ShardedSetup {
        let channel: String
        let subscriber: GlideClusterClient
        let publisher: GlideClusterClient
        let stream: AsyncStream<PubSubMessage>

        func close() async {
            await subscriber.close()
            await publisher.close()
        }
    }

    static func shardedSetup(on primary: TestCluster.Node, in cluster: TestCluster, prefix: String) async throws -> ShardedSetup {
        let channel = try await channel(servedBy: primary, in: cluster, prefix: SharedServer.uniqueKey(prefix))
        let subscriber = try await subscriber(of: cluster, PubSubSubscriptions(sharded: [channel]))
        let publisher = try await cluster.client { $0.requestTimeout = .seconds(2) }
        return ShardedSetup(channel: channel, subscriber: subscriber, publisher: publisher, stream: subscriber.pubsubMessages())
    }

    /// How many subscribers `node` counts for sharded `channel` (`PUBSUB SHARDNUMSUB`).
    static func shardSubscribers(_ channel: String, on node: TestCluster.Node, in cluster: TestCluster) async throws -> Int {
        let reply = try await cluster.command(node, ["PUBSUB", "SHARDNUMSUB", channel]).arrayValue ?? []
        return reply.count == 2 ? reply[1].intValue ?? -1 : -1
    }

    @Test func exactPatternAndShardedSubscriptionsReceiveTheirMessages() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let tag = SharedServer.uniqueKey("cps")
        let subscriber = try await Self.subscriber(
            of: cluster,
            PubSubSubscriptions(
                exact: ["\(tag).news"], pattern: ["\(tag).ev.*"], sharded: ["\(tag).s1", "\(tag).s2", "\(tag).s3"]))
        let publisher = try await cluster.client()
        let state = await subscriber.getSubscriptions()
        #expect(state.actual == state.desired)
        #expect(state.actual.sharded == ["\(tag).s1", "\(tag).s2", "\(tag).s3"])
        let stream = subscriber.pubsubMessages()
        let receiving = Task { try await PubSubTests.take(5, from: stream) }
        try await publisher.publish("n", to: "\(tag).news", sharded: false)
        try await publisher.publish("e", to: "\(tag).ev.x", sharded: false)
        for index in 1...3 {
            #expect(
                try await publisher.publish("s\(index)", to: "\(tag).s\(index)", sharded: true) == 1,
                "the channel's own primary has the subscriber")
        }
        let messages = try await receiving.value
        #expect(Set(messages.map(\.message)) == ["n", "e", "s1", "s2", "s3"])
        #expect(messages.first { $0.message == "e" }?.patternName == "\(tag).ev.*")
        #expect(messages.filter(\.sharded).count == 3)

        // Dynamic changes, of each kind.
        try await subscriber.sunsubscribe(["\(tag).s1"])
        try await subscriber.unsubscribe()
        try await subscriber.psubscribe(["\(tag).more.*"])
        let after = await subscriber.getSubscriptions()
        #expect(after.actual == PubSubSubscriptions(pattern: ["\(tag).ev.*", "\(tag).more.*"], sharded: ["\(tag).s2", "\(tag).s3"]))
        #expect(try await publisher.publish("gone", to: "\(tag).s1", sharded: true) == 0)
        await subscriber.close()
        await publisher.close()
    }

    @Test func withResp2EachNodeUsedGetsASubscriberConnection() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let tag = SharedServer.uniqueKey("cps2")
        let sharded: Set<String> = ["\(tag).a", "\(tag).b", "\(tag).c", "\(tag).d"]
        let subscriber = try await cluster.client {
            $0.protocolVersion = .resp2
            $0.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(exact: ["\(tag).news"], sharded: sharded))
        }
        let publisher = try await cluster.client()
        #expect(await subscriber.getSubscriptions().actual.sharded == sharded)
        let stream = subscriber.pubsubMessages()
        let receiving = Task { try await PubSubTests.take(5, from: stream) }
        try await publisher.publish("n", to: "\(tag).news", sharded: false)
        for channel in sharded.sorted() { #expect(try await publisher.publish(channel, to: channel, sharded: true) == 1) }
        #expect(Set(try await receiving.value.map(\.message)) == sharded.union(["n"]))
        // Commands still go through the shared connections.
        try await subscriber.set("\(tag).k", "v")
        #expect(try await subscriber.get("\(tag).k") == "v")

        // A slot that moves takes its channel along, over RESP2 too.
        let channel = sharded.sorted()[0]
        let owner = try await cluster.primary(forSlot: HashSlot.of(channel))
        let target = try #require(try await cluster.primaries().first { $0.id != owner.id })
        try await cluster.migrateSlot(HashSlot.of(channel), to: target)
        let resumed = try await Self.resumption(of: channel, sharded: true, publisher: publisher, stream: stream)
        print("pubsub: RESP2 sharded delivery resumed \(resumed) after its slot moved")
        #expect(try await Self.shardSubscribers(channel, on: target, in: cluster) == 1)
        await subscriber.close()
        await publisher.close()
    }

    @Test func aShardedChannelFollowsItsSlotToAnotherPrimary() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let primaries = try await cluster.primaries()
        let source = primaries[0]
        let target = primaries[1]
        let setup = try await Self.shardedSetup(on: source, in: cluster, prefix: "moving")
        let channel = setup.channel
        #expect(try await Self.shardSubscribers(channel, on: source, in: cluster) == 1)

        try await cluster.migrateSlot(HashSlot.of(channel), to: target)
        let resumed = try await Self.resumption(of: channel, sharded: true, publisher: setup.publisher, stream: setup.stream)
        print("pubsub: sharded delivery resumed \(resumed) after its slot moved (SETSLOT NODE)")
        #expect(try await Self.shardSubscribers(channel, on: target, in: cluster) == 1)
        #expect(await setup.subscriber.getSubscriptions().actual.sharded == [channel])
        await setup.close()
    }

    @Test func aShardedChannelOfAConnectionOnAnotherLoopFollowsItsSlot() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let primaries = try await cluster.primaries()
        let group = EpollEventLoopGroup(loopCount: 2, name: "pubsub-spread")
        defer { group.shutdown() }
        // A sharded channel on each primary, so one of them is served from the second loop.
        let prefix = SharedServer.uniqueKey("spread")
        var channels: [String: String] = [:]
        for (index, primary) in primaries.enumerated() {
            channels[primary.id] = try await Self.channel(servedBy: primary, in: cluster, prefix: "\(prefix)-\(index)")
        }
        let subscriber = try await cluster.client {
            $0.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(sharded: Set(channels.values)))
            $0.requestTimeout = .seconds(2)
            $0.eventLoopGroup = group
            $0.eventLoopCount = 2
        }
        let publisher = try await cluster.client { $0.requestTimeout = .seconds(2) }
        // The server's unsubscription arrives on the second loop; the synchronizer runs on the first.
        let (address, _) = try #require(subscriber.nodes.primaries().first { $0.1.loop === group.loops[1] })
        let source = try #require(primaries.first { $0.address == address })
        let target = try #require(primaries.first { $0.id != source.id })
        let channel = try #require(channels[source.id])
        #expect(try await Self.shardSubscribers(channel, on: source, in: cluster) == 1)

        try await cluster.migrateSlot(HashSlot.of(channel), to: target)
        let resumed = try await Self.resumption(
            of: channel, sharded: true, publisher: publisher, stream: subscriber.pubsubMessages())
        print("pubsub: sharded delivery from another loop resumed \(resumed) after its slot moved")
        #expect(try await Self.shardSubscribers(channel, on: target, in: cluster) == 1)
        #expect(await subscriber.getSubscriptions().actual.sharded == Set(channels.values))
        await subscriber.close()
        await publisher.close()
    }

    @Test func aShardedChannelKeepsDeliveringThroughACoordinatedFailover() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let primary = try await cluster.primaries()[2]
        let replica = try #require(try await cluster.replicas(of: primary).first)
        let setup = try await Self.shardedSetup(on: primary, in: cluster, prefix: "failing")
        let channel = setup.channel

        try await cluster.failover(to: replica)
        let resumed = try await Self.resumption(of: channel, sharded: true, publisher: setup.publisher, stream: setup.stream)
        print("pubsub: sharded delivery resumed \(resumed) after CLUSTER FAILOVER")
        // The demoted primary keeps its shard's subscribers (the server sends them no
        // unsubscription, and publications reach every node of the shard): one subscription, no
        // duplicate.
        let holders =
            try await Self.shardSubscribers(channel, on: primary, in: cluster)
            + Self.shardSubscribers(channel, on: replica, in: cluster)
        #expect(holders == 1)
        await setup.close()
    }

    @Test func aShardedChannelMovesToThePromotedReplicaWhenItsPrimaryCrashes() async throws {
        let cluster = try await Self.cluster.value
        guard try await Self.hasShardedPubSub(cluster) else { return }
        let primary = try await cluster.primaries()[1]
        let replica = try #require(try await cluster.replicas(of: primary).first)
        let setup = try await Self.shardedSetup(on: primary, in: cluster, prefix: "crashing")

        let killed = ContinuousClock.now
        await cluster.kill(primary)
        try await cluster.waitForFailover(of: primary)
        let failedOver = ContinuousClock.now - killed
        let resumed = try await Self.resumption(of: setup.channel, sharded: true, publisher: setup.publisher, stream: setup.stream)
        print("pubsub: sharded delivery resumed \(resumed) after the crash failover completed (\(failedOver) after SIGKILL)")
        #expect(try await Self.shardSubscribers(setup.channel, on: replica, in: cluster) == 1)
        await setup.close()
        try await Self.rejoin(primary, cluster)
    }

    /// Restarts a killed node, which rejoins as a replica, and waits until the cluster agrees.
    static func rejoin(_ node: TestCluster.Node, _ cluster: TestCluster) async throws {
        try await cluster.restart(node)
        try await cluster.waitUntilConsistent()
    }

    @Test func exactSubscriptionsMoveOffACrashedNode() async throws {
        let cluster = try await Self.cluster.value
        let channel = SharedServer.uniqueKey("crash")
        let subscriber = try await Self.subscriber(of: cluster, PubSubSubscriptions(exact: [channel]))
        let stream = subscriber.pubsubMessages()
        var home: TestCluster.Node?
        for node in try await cluster.primaries() {
            let reply = try await cluster.command(node, ["PUBSUB", "NUMSUB", channel]).arrayValue ?? []
            if reply.count == 2, reply[1].intValue == 1 { home = node }
        }
        let victim = try #require(home, "one primary holds the subscription")

        await cluster.kill(victim)
        // Published on a surviving node, which forwards it to every node: the time measured is
        // the subscriber's alone.
        let survivor = try #require(try await cluster.primaries().first { $0.id != victim.id })
        let resumed = try await Self.resumption(of: channel, stream: stream, limit: TestTiming.bound(.seconds(5))) { message in
            _ = try await cluster.command(survivor, ["PUBLISH", channel, message])
        }
        print("pubsub: exact delivery resumed \(resumed) after its node was killed")
        #expect(await subscriber.getSubscriptions().actual.exact == [channel])
        try await cluster.waitForFailover(of: victim)
        await subscriber.close()
        try await Self.rejoin(victim, cluster)
    }
}
