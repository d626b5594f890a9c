import Foundation
import Glide
import GlideTestSupport
import Testing

// Serialized: each test counts the GETs a node serves, which another read test would disturb.
@Suite(.serialized) struct ClusterReadFromTests {
    /// The GET calls `node` has served so far.
    func getCalls(_ node: TestCluster.Node, in cluster: TestCluster) async throws -> Int {
        let stats = try await cluster.command(node, ["INFO", "commandstats"]).stringValue ?? ""
        guard let line = stats.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_get:") }),
              let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) }) else { return 0 }
        return calls
    }

    /// Reads `key` `count` times through a client with `readFrom` and `clientAZ`, and returns how
    /// many GETs the shard's primary and its replica served meanwhile.
    func reads(_ readFrom: ReadFrom, clientAZ: String?, count: Int = 30) async throws -> (primary: Int, replica: Int) {
        let cluster = try await SharedCluster.valkey()
        let key = SharedServer.uniqueKey()
        let writer = try await cluster.client()
        try await writer.set(key, "value")
        let primary = try await cluster.primary(forSlot: HashSlot.of(key))
        let replica = try #require(try await cluster.replicas(of: primary).first)
        _ = try await writer.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(key), .primary))
        let reader = try await cluster.client {
            $0.readFrom = readFrom
            $0.clientAZ = clientAZ
        }
        let primaryBefore = try await getCalls(primary, in: cluster)
        let replicaBefore = try await getCalls(replica, in: cluster)
        for _ in 0..<count { #expect(try await reader.get(key) == "value") }
        let primaryServed = try await getCalls(primary, in: cluster) - primaryBefore
        let replicaServed = try await getCalls(replica, in: cluster) - replicaBefore
        // Writes still go to the primary.
        try await reader.set(key, "written")
        #expect(try await writer.get(key) == "written")
        await reader.close()
        await writer.close()
        return (primaryServed, replicaServed)
    }

    @Test func primaryReadsStayOnThePrimary() async throws {
        let served = try await reads(.primary, clientAZ: nil)
        #expect(served.primary >= 30 && served.replica < 5)
    }

    @Test func preferReplicaReadsFromTheReplica() async throws {
        let served = try await reads(.preferReplica, clientAZ: nil)
        #expect(served.replica >= 30)
    }

    @Test func azAffinityReadsFromReplicasInTheClientsZone() async throws {
        let served = try await reads(.azAffinity, clientAZ: "zone-r")
        #expect(served.replica >= 30)
    }

    @Test func azAffinityWithPrimaryReadsFromThePrimaryInTheClientsZone() async throws {
        let served = try await reads(.azAffinityReplicasAndPrimary, clientAZ: "zone-p")
        #expect(served.primary >= 30 && served.replica < 5)
    }

    @Test func topologyCarriesTheZones() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let topology = try #require(client.topology)
        #expect(topology.shards.allSatisfy { $0.primary?.availabilityZone == "zone-p" })
        #expect(topology.shards.allSatisfy { $0.replicas.allSatisfy { $0.availabilityZone == "zone-r" } })
        let info = try await client.info([.server])
        #expect(info.perNodeValues?.count == 3)
        await client.close()
    }
}
