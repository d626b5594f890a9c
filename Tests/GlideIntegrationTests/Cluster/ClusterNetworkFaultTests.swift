import Foundation
import Glide
import GlideTestSupport
import GlideTopology
import Synchronization
import Testing

/// Network faults between the cluster client and one node while the cluster itself still sees
/// that node: a `FaultProxy` sits in front of it, and the node announces the proxy's port
/// (`cluster-announce-port`), so clients reach it only through the proxy while the cluster bus
/// and the other nodes don't. Each test has a cluster of its own, since announcing moves a node;
/// serialized, so that one such cluster at a time is added to the suite's load.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterNetworkFaultTests {
    /// The kinds of error a network fault may give a caller.
    static let faultCodes: Set<GlideError.Code> = [.timeout, .connectionClosed, .connectionFailed]

    /// Puts `proxy` in front of `node` for clients: the node announces the proxy's port, and this
    /// waits until every node's `CLUSTER SHARDS` says so.
    static func announce(_ node: TestCluster.Node, through proxy: FaultProxy, in cluster: TestCluster) async throws {
        // The bus port too: Redis 6 would otherwise announce the proxy's port plus 10,000 for it.
        _ = try await cluster.command(node, ["CONFIG", "SET", "cluster-announce-bus-port", String(node.busPort)])
        _ = try await cluster.command(node, ["CONFIG", "SET", "cluster-announce-port", String(proxy.port)])
        try await cluster.waitUntil("every node sees \(node) at the proxy's port \(proxy.port)") {
            for other in cluster.liveNodes {
                let ports = try await cluster.topology(from: other).nodes.map(\.address.port)
                guard ports.contains(proxy.port), !ports.contains(node.address.port) else { return false }
            }
            return true
        }
    }

    /// Whether a node can announce another port for clients at run time. A Redis 6 node announces
    /// it to the others but keeps its own port in its own `CLUSTER SLOTS`, so a client that asks
    /// it goes around the proxy; the tests that need it say so and end there.
    static var canAnnounceAnotherPort: Bool {
        if ServerFeatures.has(redis: "7.0") { return true }
        print("\(ServerBinaries.mainServer.version): a node's own CLUSTER SLOTS keeps its port after cluster-announce-port")
        return false
    }

    /// Waits until `node` has served `reads` more `GET`s than it had when this was called.
    static func waitUntilServing(reads: Int, on node: TestCluster.Node, in cluster: TestCluster, _ what: String) async throws {
        let before = try await cluster.calls(of: "get", on: node)
        try await Polling.waitUntil(what, timeout: .seconds(15), interval: .milliseconds(20)) {
            try await cluster.calls(of: "get", on: node) - before >= reads
        }
    }

    /// `perShard` keys for each primary, in `primaries`' order, each as `(key, lane)`.
    static func keys(perShard: Int, of primaries: [TestCluster.Node], map: SlotMap) -> [(key: String, lane: Int)] {
        let prefix = SharedServer.uniqueKey()
        var keys: [(key: String, lane: Int)] = []
        var counts = [Int](repeating: 0, count: primaries.count)
        var candidate = 0
        while counts.contains(where: { $0 < perShard }) {
            let key = "\(prefix):\(candidate)"
            candidate += 1
            guard let owner = map.primary(forSlot: HashSlot.of(key)),
                let lane = primaries.firstIndex(where: { $0.address == owner }), counts[lane] < perShard
            else { continue }
            counts[lane] += 1
            keys.append((key, lane))
        }
        return keys
    }

    static func run(_ load: FaultLoad, _ client: GlideClusterClient, keys: [(key: String, lane: Int)]) -> Task<Void, Never> {
        load.run(
            keys: keys, set: { key, value throws(GlideError) in try await client.set(key, value) },
            get: { key throws(GlideError) in try await client.get(key) })
    }

    /// The successes of each lane over `window`.
    static func successes(of load: FaultLoad, over window: Duration) async throws -> [Int] {
        let before = load.perLane
        try await Task.sleep(for: window)
        return zip(load.perLane, before).map { $0 - $1 }
    }

    /// One primary cut off from the client for 3 s (a black hole at its proxy) while the cluster
    /// still sees it: its callers get typed errors, the other shards keep at least 0.5× their
    /// steady throughput, and the cut shard answers within a second of the heal.
    @Test func aPrimaryCutOffFromTheClientAloneLeavesTheOtherShardsServing() async throws {
        guard Self.canAnnounceAnotherPort else { return }
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1)
        defer { cluster.stop() }
        let primaries = try await cluster.primaries()
        let map = SlotMap(try await cluster.topology(from: primaries[0]))
        let victim = primaries[0]
        let proxy = FaultProxy(upstreamPort: victim.server.port)
        defer { proxy.stop() }
        try await Self.announce(victim, through: proxy, in: cluster)
        let client = try await cluster.client { $0.requestTimeout = .milliseconds(500) }
        let load = FaultLoad(lanes: 3)
        let running = Self.run(load, client, keys: Self.keys(perShard: 4, of: primaries, map: map))
        try await Polling.waitUntil("every shard answers") { load.perLane.allSatisfy { $0 > 50 } }
        #expect(proxy.connectionCount > 0, "the client reaches the cut primary through the proxy")

        let window = Duration.seconds(3)
        let steady = try await Self.successes(of: load, over: window)
        proxy.set(.blackhole)
        let errorsBefore = load.errors.withLock { $0.values.reduce(0, +) }
        let cut = try await Self.successes(of: load, over: window)
        let errorsDuring = load.errors.withLock { $0.values.reduce(0, +) } - errorsBefore
        proxy.set(.pass)
        let recovery = try await load.backAfterHeal("the cut shard answers again")
        await load.finish(running)
        let ratios = (1..<3).map { Double(cut[$0]) / Double(max(steady[$0], 1)) }
        let errors = load.errors.withLock { $0 }
        print(
            "cluster primary cut off 3 s: successes per shard steady \(steady), during the cut \(cut); other shards at "
                + ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")
                + "x; \(errorsDuring) typed errors (\(errors)); the cut shard back \(recovery) after the heal")
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(errorsDuring > 0, "the cut was felt")
        #expect(Set(errors.keys).isSubset(of: Self.faultCodes), "\(errors)")
        // Held up behind the cut shard, they would drop near zero; the suite running beside moves
        // the windows' rates by a third either way (0.64 under make asan once), so half is the line.
        #expect(ratios.allSatisfy { $0 >= 0.5 }, "other shards during the cut: \(ratios)")
        #expect(recovery < TestTiming.bound(.seconds(1)))
        await client.close()
    }

    /// A replica cut off (a black hole at its proxy) while `preferReplica` reads from it: reads
    /// get typed errors until the client gives the silent connection up, then the primary serves
    /// them while the cut lasts, every value right; after the heal the replica serves them again.
    @Test func aReplicaCutOffUnderPreferReplicaHandsItsReadsToThePrimary() async throws {
        guard Self.canAnnounceAnotherPort else { return }
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1)
        defer { cluster.stop() }
        let primaries = try await cluster.primaries()
        let primary = primaries[0]
        let replica = try #require(try await cluster.replicas(of: primary).first)
        let map = SlotMap(try await cluster.topology(from: primary))
        let keys = Self.keys(perShard: 5, of: primaries, map: map).filter { $0.lane == 0 }.map(\.key)
        let writer = try await cluster.client()
        for key in keys { try await writer.set(key, "value-of-\(key)") }
        _ = try await writer.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(keys[0]), .primary))
        let proxy = FaultProxy(upstreamPort: replica.server.port)
        defer { proxy.stop() }
        try await Self.announce(replica, through: proxy, in: cluster)
        let reader = try await cluster.client {
            $0.readFrom = .preferReplica
            $0.requestTimeout = .milliseconds(500)
            $0.topologyRefresh.periodicInterval = .seconds(1)
        }
        let onReplica = try await cluster.calls(of: "get", on: replica)
        for key in keys { #expect(try await reader.get(key) == "value-of-\(key)") }
        #expect(try await cluster.calls(of: "get", on: replica) - onReplica == keys.count, "reads go to the replica")

        let load = FaultLoad()
        let reads = load.runReads(
            keys: keys.map { ($0, 0) }, expected: { "value-of-\($0)" }, get: { key throws(GlideError) in try await reader.get(key) })
        proxy.set(.blackhole)
        let cut = ContinuousClock.now
        try await Self.waitUntilServing(reads: 100, on: primary, in: cluster, "the primary serves the reads")
        let handedOver = ContinuousClock.now - cut
        let errorsWhileCut = load.errors.withLock { $0 }
        proxy.set(.pass)
        let healed = ContinuousClock.now
        try await Self.waitUntilServing(reads: 100, on: replica, in: cluster, "the replica serves reads again")
        let back = ContinuousClock.now - healed
        await load.finish(reads)
        print(
            "cluster replica cut off under preferReplica: reads handed to the primary \(handedOver) after the cut "
                + "(\(errorsWhileCut)), back on the replica \(back) after the heal")
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(Set(load.errors.withLock { $0 }.keys).isSubset(of: Self.faultCodes), "\(load.errors.withLock { $0 })")
        // The silent connection is given up once its oldest reply is overdue by the stale grace
        // (2 s past the 500 ms timeout); then the primary serves.
        #expect(handedOver < TestTiming.bound(.seconds(4)))
        await reader.close()
        await writer.close()
    }

    /// Every seed address unreachable (black holes at the seeds' proxies; the nodes announce their
    /// own ports, so the client's connections don't pass them) when a failover makes the client
    /// refresh: the refresh asks the nodes the client knows, and the failed-over shard's callers
    /// are served by the new primary soon after the failover.
    @Test func aRefreshWithEverySeedUnreachableAsksTheNodesTheClientKnows() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1)
        defer { cluster.stop() }
        let primaries = try await cluster.primaries()
        let map = SlotMap(try await cluster.topology(from: primaries[0]))
        let replica = try #require(try await cluster.replicas(of: primaries[0]).first)
        let seeds = primaries.map { FaultProxy(upstreamPort: $0.server.port) }
        defer { for seed in seeds { seed.stop() } }
        let client = try await GlideClusterClient.create(
            cluster.configuration {
                $0.addresses = seeds.map(\.address)
                $0.requestTimeout = .milliseconds(500)
            })
        #expect(seeds.map(\.connectionCount).reduce(0, +) > 0, "the client bootstrapped through the seeds")
        let load = FaultLoad(lanes: 3)
        let running = Self.run(load, client, keys: Self.keys(perShard: 4, of: primaries, map: map))
        try await Polling.waitUntil("every shard answers") { load.perLane.allSatisfy { $0 > 50 } }
        for seed in seeds { seed.set(.blackhole) }
        let seedConnections = seeds.map(\.connectionCount).reduce(0, +)
        let refreshes = client.getStatistics().topologyRefreshes
        try await cluster.failover(to: replica)
        let recovery = try await load.backAfterHeal("the failed-over shard answers", timeout: .seconds(15))
        // Following MOVED patches single slots; the whole new map comes from a refresh, which
        // the seeds can't answer.
        let failedOver = ContinuousClock.now
        try await Polling.waitUntil("the client's map names the new primary", timeout: .seconds(15), interval: .milliseconds(5)) {
            client.topology?.shards.contains { $0.primary?.address == replica.address && $0.slotCount > 5000 } == true
        }
        let mapped = ContinuousClock.now - failedOver
        let succeeded = load.perLane
        try await Polling.waitUntil("every shard goes on") { zip(load.perLane, succeeded).allSatisfy { $0 > $1 + 20 } }
        await load.finish(running)
        let errors = load.errors.withLock { $0 }
        let refreshed = client.getStatistics().topologyRefreshes - refreshes
        print(
            "cluster failover with every seed unreachable: the shard served \(recovery) after the failover completed "
                + "(\(errors)), the new map adopted \(mapped) after it (\(refreshed) refreshes), "
                + "\(seeds.map(\.connectionCount).reduce(0, +) - seedConnections) connections tried to seeds")
        #expect(refreshed > 0, "the failover made the client refresh its map")
        // A refresh waits for a majority of the nodes it asks, not for the seeds' connection
        // timeout (2 s); at most the minimum interval (1 s) separates it from the one before.
        #expect(mapped < TestTiming.bound(.seconds(2)))
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(Set(errors.keys).isSubset(of: Self.faultCodes.union([.server])), "\(errors)")
        #expect(recovery < TestTiming.bound(.seconds(1)))
        await client.close()
    }
}
