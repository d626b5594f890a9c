import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ClusterHarnessTests {
    @Test func sharedClusterHasThreeShardsWithAReplicaEach() async throws {
        let cluster = try await SharedCluster.valkey()
        let topology = try await cluster.topology(from: cluster.nodes[0])
        #expect(topology.shards.count == 3)
        #expect(topology.coversAllSlots)
        #expect(topology.shards.allSatisfy { $0.replicas.count == 1 && $0.primary != nil })
        #expect(Set(topology.nodes.map(\.address)) == Set(cluster.seeds))
        // Every node gives the same view.
        for node in cluster.nodes {
            #expect(try await cluster.topology(from: node) == topology)
        }
    }
}
