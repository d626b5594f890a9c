import GlideTopology
import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// A multi-key command split by slot goes to each node as one pipelined request, whatever the
/// number of slots, against the fake cluster on a manual loop.
@Suite(.timeLimit(.minutes(2))) struct ClusterSplitTests {
    let primaries = [FakeCluster.node(7000), FakeCluster.node(7001), FakeCluster.node(7002)]

    /// Nine keys in nine slots, three on each primary, interleaved, each holding `v-<key>`.
    func keys(_ cluster: FakeCluster) -> [String] {
        var keys: [String] = []
        for index in 0..<3 {
            for primary in primaries { keys.append(cluster.key(servedBy: primary, index: index)) }
        }
        for key in keys { cluster.state.withLock { $0.data[key] = "v-\(key)" } }
        return keys
    }

    func mget(_ harness: FakeClusterHarness, _ keys: [String]) async throws -> [String?] {
        let engine = harness.engine
        let reply = try await harness.run { try await engine.customCommand([Bytes("MGET")] + keys.map { Bytes($0) }, route: nil) }
        guard case .array(let values) = reply.singleValue else { return [] }
        return values.map(\.stringValue)
    }

    /// Requests each primary's connection was sent, so far.
    func requests(_ harness: FakeClusterHarness) -> [UInt64] {
        primaries.map { harness.engine.nodes.connection(to: $0)!.requestIDs.load(ordering: .relaxed) }
    }

    @Test func aSplitMGetSendsOneRequestPerNodeAndPutsTheValuesBackInKeyOrder() async throws {
        let harness = FakeClusterHarness()
        try await harness.start()
        let keys = keys(harness.cluster)
        #expect(Set(keys.map { HashSlot.of($0) }).count == 9)
        let before = requests(harness)
        #expect(try await mget(harness, keys) == keys.map { "v-\($0)" })
        // One request per node: its three slots' parts leave together, as one pipeline.
        #expect(zip(requests(harness), before).map { $0 - $1 } == [1, 1, 1])
        for primary in primaries { #expect(harness.cluster.received("MGET", by: primary).count == 3) }
        try await harness.close()
    }

    @Test func aPartAnsweredMovedIsSentAgainAloneWhereTheAnswerSays() async throws {
        let harness = FakeClusterHarness()
        try await harness.start()
        let cluster = harness.cluster
        let keys = keys(cluster)
        // The slot of the first key (on the first primary) moved to the second, unknown to the client.
        let moved = keys[0]
        cluster.moveSlot(HashSlot.of(moved), to: primaries[1])
        #expect(try await mget(harness, keys) == keys.map { "v-\($0)" })
        // The first primary answered its three parts in one request, one of them MOVED; that part
        // went again, alone, to the second primary.
        #expect(cluster.received("MGET", by: primaries[0]).count == 3)
        #expect(cluster.received("MGET", by: primaries[1]).count == 4)
        #expect(cluster.received("MGET", by: primaries[1]).last == ["MGET", moved])
        #expect(cluster.received("MGET", by: primaries[2]).count == 3)
        try await harness.close()
    }
}
