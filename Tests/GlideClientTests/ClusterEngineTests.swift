import GlideTopology
import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The whole cluster client (routing, the request state machine, the slot map, the topology
/// manager, the supervisor and the node connections) against a fake cluster over memory pipes,
/// on a manual loop: no socket, no real time, and every step the test's.
@Suite(.timeLimit(.minutes(2))) struct ClusterEngineTests {
    let a = FakeCluster.node(7000)
    let b = FakeCluster.node(7001)
    let c = FakeCluster.node(7002)
    let aReplica = FakeCluster.node(7003)

    /// Each test with `spread` runs the engine's node connections over two loops, its supervisor
    /// and topology manager staying on the first (`eventLoopCount = 2`).
    @Test(arguments: [false, true]) func discoveryAdoptsTheSeedsViewAndRoutesEachKeyToItsPrimary(spread: Bool) async throws {
        let harness = FakeClusterHarness(spread: spread)
        try await harness.start()
        let loops = Set(harness.engine.nodes.primaries().map { ObjectIdentifier($0.1.loop) })
        #expect(loops.count == (spread ? 2 : 1))
        for (index, primary) in [a, b, c].enumerated() {
            let key = harness.cluster.key(servedBy: primary)
            try await harness.set(key, "v\(index)")
            #expect(try await harness.get(key) == "v\(index)")
            #expect(harness.cluster.received("SET", by: primary) == [["SET", key, "v\(index)"]])
        }
        #expect(harness.cluster.receivedCount("ASKING") == 0)
        try await harness.close()
    }

    @Test(arguments: [false, true]) func aSlotMigrationIsFollowedThroughAskThenMoved(spread: Bool) async throws {
        let harness = FakeClusterHarness(spread: spread)
        try await harness.start()
        let key = harness.cluster.key(servedBy: a)
        let slot = HashSlot.of(key)
        harness.cluster.state.withLock { $0.data[key] = "v" }

        // Migrating: the owner says ASK, and the importing node serves the key after ASKING.
        harness.cluster.migrate(slot, to: b)
        #expect(try await harness.get(key) == "v")
        #expect(harness.cluster.received("GET", by: a).count == 1)
        let atB = harness.cluster.state.withLock { state in state.received.filter { $0.node == b }.map(\.command).suffix(2) }
        #expect(Array(atB) == [["ASKING"], ["GET", key]])
        // An ASK is for one request: the map still says the old owner.
        #expect(harness.engine.nodes.connection(forSlot: slot, replica: false) === harness.engine.nodes.connection(to: a))

        // Migrated: the old owner says MOVED; the map is patched and the retry needs no ASKING.
        harness.cluster.moveSlot(slot, to: b)
        #expect(try await harness.get(key) == "v")
        #expect(harness.cluster.received("GET", by: a).count == 2)
        #expect(harness.cluster.received("GET", by: b).count == 2)
        #expect(harness.cluster.receivedCount("ASKING") == 1)
        // From now on the key goes straight to its new owner.
        #expect(try await harness.get(key) == "v")
        #expect(harness.cluster.received("GET", by: a).count == 2)
        #expect(harness.cluster.received("GET", by: b).count == 3)
        try await harness.close()
    }

    @Test(arguments: [false, true]) func aFailoverIsWaitedOutThroughClusterDownAndTheWriteLandsOnTheNewPrimary(spread: Bool) async throws {
        let harness = FakeClusterHarness(spread: spread)
        try await harness.start()
        let cluster = harness.cluster
        let key = cluster.key(servedBy: a)
        let healthyKey = cluster.key(servedBy: b)
        // The shard's primary answers CLUSTERDOWN while its replica takes over; the replica
        // is the primary from then on, and the old one redirects there.
        let failedOver = Lock(false)
        cluster.state.withLock { state in
            state.script = { [a, aReplica] node, command in
                guard node == a, command.first == "SET", !failedOver.withLock({ $0 }) else { return nil }
                failedOver.withLock { $0 = true }
                cluster.failOver(a, to: aReplica)
                return .reply("-CLUSTERDOWN The cluster is down\r\n")
            }
        }
        let loop = harness.loop
        let engine = harness.engine
        let started = loop.now()
        let (healthyAt, failedOverAt) = try await harness.run {
            // The healthy shard's write runs beside the failing one's and never waits for it.
            async let healthy: Deadline = {
                _ = try await engine.customCommand([Bytes("SET"), Bytes(healthyKey), Bytes("h")], route: nil)
                return loop.now()
            }()
            async let failing: Deadline = {
                _ = try await engine.customCommand([Bytes("SET"), Bytes(key), Bytes("f")], route: nil)
                return loop.now()
            }()
            return try await (healthy, failing)
        }
        #expect(healthyAt == started)
        #expect(failedOverAt > started)
        #expect(failedOverAt - started < .seconds(1))
        #expect(cluster.state.withLock { $0.data[key] } == "f")
        #expect(cluster.received("SET", by: a).first == ["SET", key, "f"])
        #expect(cluster.received("SET", by: aReplica) == [["SET", key, "f"]])
        // The refresh the condition asked for runs once its rate limit allows, and finds the new primary.
        harness.runTimers()
        #expect(harness.engine.topologyManager.completedRefreshes.load(ordering: .relaxed) == 1)
        #expect(harness.engine.nodes.topology?.shards.first { $0.slots.contains(0...5460) }?.primary?.address == aReplica)
        try await harness.close()
    }

    @Test(arguments: [false, true]) func aReadLostMidRequestIsReadAgainAndAWriteFailsWithoutRunningTwice(spread: Bool) async throws {
        let harness = FakeClusterHarness(spread: spread)
        try await harness.start()
        let cluster = harness.cluster
        // Spread: a primary whose connection runs on the second loop, its loss reported across.
        let nodeLoop = harness.other ?? harness.loop
        let a = try #require([a, b, c].first { harness.engine.nodes.connection(to: $0)?.loop === nodeLoop })
        let key = cluster.key(servedBy: a)
        cluster.state.withLock { $0.data[key] = "v" }
        // The node's connection drops with the first GET and the first SET unanswered.
        let dropped = Lock<Set<String>>([])
        cluster.state.withLock { state in
            state.script = { [a] node, command in
                guard node == a, let name = command.first, name == "GET" || name == "SET" else { return nil }
                return dropped.withLock { $0.insert(name).inserted } ? .closeConnection : nil
            }
        }
        #expect(try await harness.get(key) == "v")
        #expect(cluster.received("GET", by: a).count == 2)

        await #expect {
            try await harness.set(key, "w")
        } throws: { error in
            (error as? GlideError)?.code == .connectionClosed
        }
        #expect(cluster.received("SET", by: a).count == 1)
        #expect(cluster.state.withLock { $0.data[key] } == "v")
        // The client is usable: the node's connection was reopened.
        try await harness.set(key, "x")
        #expect(try await harness.get(key) == "x")
        try await harness.close()
    }

    @Test func aStormOfMovedRepliesCausesExactlyOneRefresh() async throws {
        let harness = FakeClusterHarness()
        try await harness.start()
        let cluster = harness.cluster
        let keys = (0..<30).map { cluster.key(servedBy: a, index: $0) }
        #expect(Set(keys.map { HashSlot.of($0) }).count > 1)
        for key in keys { cluster.state.withLock { $0.data[key] = key } }
        let shardsAsked = cluster.receivedCount("CLUSTER")
        cluster.moveAllSlots(of: a, to: b)

        let values = try await harness.getConcurrently(keys)
        #expect(Set(values.compactMap { $0 }) == Set(keys))
        #expect(cluster.received("GET", by: a).count == keys.count)
        // Let the refresh run, and the clock pass every rate limit: nothing asks for another.
        harness.runTimers()
        #expect(harness.engine.topologyManager.completedRefreshes.load(ordering: .relaxed) == 1)
        // One refresh asks each known node once (the sample covers the 6 nodes).
        #expect(cluster.receivedCount("CLUSTER") - shardsAsked == 6)
        // The node that left the map lost its connection; the map has the two shards left.
        #expect(harness.engine.nodes.connection(to: a) == nil)
        #expect(harness.engine.nodes.topology?.shards.count == 2)
        try await harness.close()
    }

    @Test func aDeadNodeDoesNotKeepTheClientRefreshing() async throws {
        // After the immediate reconnection, the next waits ten minutes: only refreshes could
        // reconnect the dead node's connection before then.
        let harness = FakeClusterHarness { $0.reconnectStrategy = BackoffStrategy(numberOfRetries: 1, factor: 600_000, jitterPercent: 0) }
        try await harness.start()
        let manager = harness.engine.topologyManager
        let before = manager.completedRefreshes.load(ordering: .relaxed)
        harness.cluster.kill(c)
        // Ten seconds, a hundred minimum intervals. A refresh asks the dead node over a connection
        // of its own: were it to reconnect the client's, that failure would ask for the next
        // refresh, one per interval.
        for _ in 0..<100 {
            harness.settle()
            harness.loop.advance(to: harness.loop.now() + .milliseconds(100))
        }
        harness.settle()
        let after = manager.completedRefreshes.load(ordering: .relaxed)
        // The loss and the failed reconnection each ask once (the second may join the first).
        #expect(after - before >= 1)
        #expect(after - before <= 2, "\(after - before) refreshes")
        #expect(harness.engine.nodes.connection(to: c)?.isDown == true)
        try await harness.close()
    }

    @Test func aSplitViewDuringDiscoveryAdoptsWhatMostNodesSay() async throws {
        let cluster = FakeCluster.threeShards()
        // The third seed still believes an old layout: one node with every slot.
        cluster.state.withLock {
            $0.views[FakeCluster.node(7002)] = [FakeCluster.Shard(slots: [0...16383], primary: FakeCluster.node(7002))]
        }
        let harness = FakeClusterHarness(cluster, seeds: [a, b, c])
        try await harness.start()
        #expect(cluster.receivedCount("CLUSTER") == 3)
        let topology = try #require(harness.engine.nodes.topology)
        #expect(topology.shards.map(\.primary?.address) == [a, b, c])
        #expect(topology.coversAllSlots)
        // Requests go straight to their owners: no redirection.
        for primary in [a, b, c] { try await harness.set(cluster.key(servedBy: primary), "v") }
        for primary in [a, b, c] { #expect(cluster.received("SET", by: primary).count == 1) }
        try await harness.close()
    }
}
