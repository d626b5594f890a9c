import Foundation
import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection
@testable import GlideTopology

/// The cluster engine against a fake cluster of 500 primaries and 500 replicas: discovery, a
/// refresh, and a reshard of 100 shards under a storm of `MOVED` replies. The engine is the real
/// one; the nodes are scripted, behind memory pipes, on a manual loop. The test asserts what must
/// hold at any size (one refresh for the storm, every read answered right, one connection per
/// node, a refresh asking only its sample) and prints the time and memory it measured,
/// which Docs/cluster.md reasons from; it holds them to no bound.
@Suite(.timeLimit(.minutes(2))) struct ClusterScaleSimulationTests {
    static let primaries = 500
    static let reshardedShards = 100
    static let readsPerShard = 3

    /// `primaries` shards of a primary and a replica, the 16,384 slots split evenly: primaries on
    /// ports 10000 and up, replicas on 20000 and up.
    static func cluster(primaries: Int) -> FakeCluster {
        let shards = (0..<primaries).map { index in
            let first = UInt16(index * 16384 / primaries)
            let last = UInt16((index + 1) * 16384 / primaries - 1)
            return FakeCluster.Shard(
                slots: [first...last], primary: FakeCluster.node(10000 + index), replicas: [FakeCluster.node(20000 + index)])
        }
        return FakeCluster(shards: shards)
    }

    /// The process's resident bytes (/proc/self/statm): the other tests running beside this one
    /// allocate too, so a difference of two readings is a rough figure.
    static func resident() -> Int {
        let fields = ((try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "").split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// The bytes a slot map's storage takes: its table, its shards and their replica lists (the
    /// fake's host names are short enough to be stored inline).
    static func footprint(of map: SlotMap) -> Int {
        let header = 32
        var bytes = header + map.table.capacity * MemoryLayout<UInt16>.stride
        bytes += header + map.shards.capacity * MemoryLayout<SlotMap.Shard>.stride
        for shard in map.shards {
            bytes += header + shard.replicas.capacity * MemoryLayout<NodeAddress>.stride
            bytes += header + shard.replicaZones.capacity * MemoryLayout<String?>.stride
        }
        return bytes
    }

    /// Runs `body` on a thread of its own: driving a thousand fake nodes never suspends, and on
    /// Swift's pool it would hold one of its few threads, stalling the tests running beside it.
    static func onAThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.3f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    @Test func aThousandNodeClusterIsDiscoveredRefreshedAndReshardedWithOneRefresh() async throws {
        let cluster = Self.cluster(primaries: Self.primaries)
        let harness = FakeClusterHarness(cluster, seeds: [FakeCluster.node(10000)])
        let clock = ContinuousClock()
        let engine = harness.engine

        // Discovery: the seed's view of 1,000 nodes, then a connection to each primary.
        let residentBefore = Self.resident()
        let discovery = try await clock.measure { try await harness.start() }
        let residentAfterDiscovery = Self.resident()
        let topology = try #require(engine.nodes.topology)
        #expect(topology.shards.count == Self.primaries)
        #expect(topology.shards.allSatisfy { $0.replicas.count == 1 })
        #expect(engine.nodes.primaries().count == Self.primaries)
        // One connection to each node, replicas included (they take server-wide commands), and
        // the seed's connection is its node's: none twice.
        let linked = cluster.state.withLock { $0.links.map(\.node) }
        let connectionsOpened = linked.count
        #expect(Set(linked).count == 2 * Self.primaries)
        #expect(connectionsOpened == 2 * Self.primaries)

        // The routing table, built again from the topology.
        let map = SlotMap(topology)
        let slotMapBytes = Self.footprint(of: map)
        #expect(map.assignedSlotCount == 16384)
        #expect(map.shards.count == Self.primaries)

        // A refresh asks its sample of nodes, not all of them.
        let refreshesBefore = engine.topologyManager.completedRefreshes.load(ordering: .relaxed)
        let shardsAskedBefore = cluster.receivedCount("CLUSTER")
        let refresh = await Self.onAThread {
            clock.measure {
                engine.topologyManager.requestRefresh()
                harness.runTimers()
            }
        }
        #expect(engine.topologyManager.completedRefreshes.load(ordering: .relaxed) == refreshesBefore + 1)
        let askedPerRefresh = cluster.receivedCount("CLUSTER") - shardsAskedBefore
        #expect(askedPerRefresh <= engine.nodes.configuration.topologySampleSize)

        // A reshard: each of 100 shards hands all its slots to its neighbour, and 300 reads of
        // keys on those slots arrive at once, every one at the old owner (a MOVED storm).
        let keys = await Self.onAThread {
            (0..<Self.reshardedShards).flatMap { shard in
                (0..<Self.readsPerShard).map { cluster.key(servedBy: FakeCluster.node(10000 + 2 * shard), index: $0) }
            }
        }
        cluster.state.withLock { state in for key in keys { state.data[key] = key } }
        await Self.onAThread { harness.runTimers() }
        let refreshesBeforeStorm = engine.topologyManager.completedRefreshes.load(ordering: .relaxed)
        for shard in 0..<Self.reshardedShards {
            cluster.moveAllSlots(of: FakeCluster.node(10000 + 2 * shard), to: FakeCluster.node(10000 + 2 * shard + 1))
        }
        let movedBefore = cluster.state.withLock { $0.received.count }
        let started = clock.now
        let values = try await harness.getConcurrently(keys)
        let storm = clock.now - started
        await Self.onAThread { harness.runTimers() }
        #expect(values.count == keys.count)
        #expect(Set(values.compactMap { $0 }) == Set(keys))
        #expect(engine.topologyManager.completedRefreshes.load(ordering: .relaxed) == refreshesBeforeStorm + 1)
        let topologyAfter = try #require(engine.nodes.topology)
        #expect(topologyAfter.shards.count == Self.primaries - Self.reshardedShards)
        // The nodes that left the map lost their connections.
        #expect(engine.nodes.primaries().count == Self.primaries - Self.reshardedShards)
        let commandsDuringStorm = cluster.state.withLock { $0.received.count } - movedBefore

        print(
            """
            cluster simulation, \(Self.primaries) primaries + \(Self.primaries) replicas (debug build, manual loop, memory pipes):
              discovery \(Self.seconds(discovery)), resident +\((residentAfterDiscovery - residentBefore) / 1024) KiB (engine, \(connectionsOpened) connections, topology, map)
              slot map \(slotMapBytes / 1024) KiB
              refresh \(Self.seconds(refresh)), \(askedPerRefresh) nodes asked
              reshard of \(Self.reshardedShards) shards: \(keys.count) reads in \(Self.seconds(storm)), \
            \(engine.topologyManager.completedRefreshes.load(ordering: .relaxed) - refreshesBeforeStorm) refresh, \
            \(commandsDuringStorm) commands at the nodes
            """)
        try await harness.close()
    }
}
