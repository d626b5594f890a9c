import GlideTopology
import Synchronization
import Testing

func address(_ port: Int) -> NodeAddress { NodeAddress(host: "127.0.0.1", port: port) }

func node(_ port: Int, _ role: ClusterNode.Role, health: ClusterNode.Health = .online, zone: String? = nil) -> ClusterNode {
    ClusterNode(id: "n\(port)", address: address(port), role: role, health: health, availabilityZone: zone)
}

/// Three shards of 7000-7002 with replicas 7003-7005, split at 5461 and 10923.
func standardTopology(replicaHealth: ClusterNode.Health = .online) -> ClusterTopology {
    ClusterTopology(shards: [
        ClusterShard(
            slots: [0...5460], primary: node(7000, .primary, zone: "a"), replicas: [node(7003, .replica, health: replicaHealth, zone: "b")]),
        ClusterShard(slots: [5461...10922], primary: node(7001, .primary), replicas: [node(7004, .replica)]),
        ClusterShard(slots: [10923...16383], primary: node(7002, .primary), replicas: [node(7005, .replica)]),
    ])
}

@Suite(.timeLimit(.minutes(2))) struct SlotMapTests {
    @Test func lookupsFollowTheTopology() {
        let map = SlotMap(standardTopology())
        #expect(map.primary(forSlot: 0) == address(7000))
        #expect(map.primary(forSlot: 5460) == address(7000))
        #expect(map.primary(forSlot: 5461) == address(7001))
        #expect(map.primary(forSlot: 16383) == address(7002))
        #expect(map.shard(forSlot: 100)?.replicas == [address(7003)])
        #expect(map.shard(forSlot: 100)?.replicaZones == ["b"])
        #expect(map.shard(forSlot: 100)?.primaryZone == "a")
        #expect(map.assignedSlotCount == 16384)
        #expect(map.addresses.count == 6)
    }

    @Test func unservedSlotsAndUnhealthyReplicasAreLeftOut() {
        var topology = ClusterTopology(shards: [
            ClusterShard(
                slots: [0...99], primary: node(7000, .primary),
                replicas: [node(7003, .replica, health: .loading)])
        ])
        var map = SlotMap(topology)
        #expect(map.primary(forSlot: 100) == nil)
        #expect(map.shard(forSlot: 0)?.replicas == [])
        #expect(map.assignedSlotCount == 100)
        topology = ClusterTopology(shards: [ClusterShard(slots: [0...99], primary: nil, replicas: [node(7003, .replica)])])
        map = SlotMap(topology)
        #expect(map.primary(forSlot: 0) == nil)
        #expect(SlotMap().primary(forSlot: 0) == nil)
    }

    @Test func movedPatchesTheMapInPlace() {
        var map = SlotMap(standardTopology())
        // A slot migrated to another known primary.
        #expect(map.applyMoved(slot: 100, to: address(7001)) == .slotMoved)
        #expect(map.primary(forSlot: 100) == address(7001))
        #expect(map.primary(forSlot: 101) == address(7000))
        #expect(map.applyMoved(slot: 100, to: address(7001)) == .unchanged)
        // A failover: the replica now answers for its shard, and the old primary is its replica.
        #expect(map.applyMoved(slot: 200, to: address(7003)) == .replicaPromoted)
        #expect(map.primary(forSlot: 200) == address(7003))
        #expect(map.primary(forSlot: 5000) == address(7003))
        #expect(map.shard(forSlot: 5000)?.replicas == [address(7000)])
        #expect(map.shard(forSlot: 5000)?.primaryZone == "b")
        // A replica of another shard answering for a slot: it became a primary of its own.
        #expect(map.applyMoved(slot: 6000, to: address(7005)) == .newPrimary)
        #expect(map.primary(forSlot: 6000) == address(7005))
        #expect(map.primary(forSlot: 16000) == address(7002))
        #expect(map.shard(forSlot: 16000)?.replicas == [])
        #expect(map.primary(forSlot: 6001) == address(7001))
        // A node nobody knew about.
        #expect(map.applyMoved(slot: 16000, to: address(7010)) == .newPrimary)
        #expect(map.primary(forSlot: 16000) == address(7010))
        #expect(map.primary(forSlot: 15999) == address(7002))
    }
}

@Suite(.timeLimit(.minutes(2))) struct TopologyElectionTests {
    @Test func unanimousViewsWin() throws {
        let outcome = try #require(TopologyElection.elect([standardTopology(), standardTopology(), standardTopology()]))
        #expect(outcome.votes == 3 && outcome.voters == 3 && outcome.isMajority)
        #expect(outcome.topology == standardTopology())
    }

    @Test func healthDifferencesDoNotSplitTheVote() throws {
        let outcome = try #require(TopologyElection.elect([standardTopology(), standardTopology(replicaHealth: .loading)]))
        #expect(outcome.votes == 2)
    }

    @Test func theMajorityBeatsADissentingNode() throws {
        var moved = standardTopology()
        moved = ClusterTopology(shards: [
            ClusterShard(slots: [0...5459], primary: node(7000, .primary, zone: "a"), replicas: [node(7003, .replica, zone: "b")]),
            ClusterShard(slots: [5460...10922], primary: node(7001, .primary), replicas: [node(7004, .replica)]),
            ClusterShard(slots: [10923...16383], primary: node(7002, .primary), replicas: [node(7005, .replica)]),
        ])
        for order in [[moved, standardTopology(), standardTopology()], [standardTopology(), moved, standardTopology()]] {
            let outcome = try #require(TopologyElection.elect(order))
            #expect(outcome.topology == standardTopology())
            #expect(outcome.votes == 2 && outcome.voters == 3 && outcome.isMajority)
        }
    }

    @Test func emptyViewsAreDiscardedAndTiesGoToCoverage() throws {
        let lonely = ClusterTopology(shards: [ClusterShard(slots: [], primary: node(7009, .primary))])
        let partial = ClusterTopology(shards: [ClusterShard(slots: [0...100], primary: node(7000, .primary))])
        let outcome = try #require(TopologyElection.elect([lonely, lonely, lonely, partial, standardTopology()]))
        #expect(outcome.topology == standardTopology())
        #expect(outcome.voters == 2 && outcome.votes == 1 && !outcome.isMajority)
        #expect(TopologyElection.elect([lonely])?.topology == lonely)
        #expect(TopologyElection.elect([]) == nil)
    }

    @Test func scriptedDiscoveryElectsDespiteAMissingNode() async throws {
        let discovery = ScriptedDiscovery(views: [
            address(7000): .success(standardTopology()),
            address(7001): .success(standardTopology()),
            address(7002): .failure(TopologyError("connection refused")),
        ])
        let result = await discovery.discover(
            from: [address(7000), address(7001), address(7002), address(7000), address(7003)],
            sampleSize: 4)
        #expect(result.election?.topology == standardTopology())
        #expect(result.election?.votes == 2)
        #expect(result.failures.map(\.address) == [address(7002), address(7003)])
        let limited = await discovery.discover(from: [address(7000), address(7001), address(7002)], sampleSize: 1)
        #expect(limited.election?.voters == 1 && limited.failures.isEmpty)
        let none = await ScriptedDiscovery(views: [:]).discover(from: [address(7000)], sampleSize: 3)
        #expect(none.election == nil && none.failures.count == 1)
    }

    /// Nodes that answer at once with scripted views, and nodes that never answer (a black hole)
    /// until their question is cancelled; counts the questions cancelled.
    struct SilentNodes: NodeDiscovery {
        let answering: ScriptedDiscovery
        let silent: Set<NodeAddress>
        let cancelled = Counter()

        final class Counter: Sendable {
            private let value = Atomic<Int>(0)
            func add() { value.add(1, ordering: .relaxed) }
            var count: Int { value.load(ordering: .relaxed) }
        }

        func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
            guard silent.contains(address) else { return try await answering.view(from: address) }
            while !Task.isCancelled { await Task.yield() }
            cancelled.add()
            throw TopologyError("\(address): cancelled")
        }
    }

    @Test func aMajorityOfTheAskedDecidesWithoutWaitingForSilentNodes() async throws {
        let views = [address(7000), address(7001), address(7002)].map {
            ($0, Result<ClusterTopology, TopologyError>.success(standardTopology()))
        }
        let discovery = SilentNodes(
            answering: ScriptedDiscovery(views: Dictionary(uniqueKeysWithValues: views)), silent: [address(7008), address(7009)])
        // Three of five agree: decided, and the two silent questions are cancelled.
        let result = await discovery.discover(
            from: [address(7000), address(7008), address(7001), address(7009), address(7002)], sampleSize: 5)
        #expect(result.election?.topology == standardTopology())
        #expect(result.election?.votes == 3)
        #expect(discovery.cancelled.count == 2)
        // Two of four is no majority: every answer is awaited, and the plurality wins.
        let split = await SilentNodes(
            answering: ScriptedDiscovery(views: [
                address(7000): .success(standardTopology()), address(7001): .success(standardTopology()),
                address(7002): .success(ClusterTopology(shards: [ClusterShard(slots: [0...16383], primary: node(7002, .primary))])),
                address(7003): .failure(TopologyError("refused")),
            ]), silent: []
        ).discover(from: [address(7000), address(7001), address(7002), address(7003)], sampleSize: 4)
        #expect(split.election?.votes == 2 && split.election?.voters == 3)
        #expect(split.failures.map(\.address) == [address(7003)])
    }
}
