import Foundation
import Glide
import GlideTestSupport
import Testing

// Serialized: each test counts the GETs a node serves, which another read test would disturb.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ClusterReadFromTests {
    /// Reads `key` `count` times through a client with `readFrom` and `clientAZ`, and returns how
    /// many GETs the shard's primary and its replica served meanwhile.
    func reads(_ readFrom: ReadFrom, clientAZ: String?, count: Int = 30) async throws -> (primary: Int, replica: Int) {
        let cluster = try await SharedCluster.valkey()
        let key = SharedServer.uniqueKey()
        let writer = try await cluster.client()
        let (primary, replica) = try await cluster.writeReplicated(key, "value", with: writer)
        let reader = try await cluster.client {
            $0.readFrom = readFrom
            $0.clientAZ = clientAZ
        }
        let primaryBefore = try await cluster.calls(of: "get", on: primary)
        let replicaBefore = try await cluster.calls(of: "get", on: replica)
        for _ in 0..<count { #expect(try await reader.get(key) == "value") }
        let primaryServed = try await cluster.calls(of: "get", on: primary) - primaryBefore
        let replicaServed = try await cluster.calls(of: "get", on: replica) - replicaBefore
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

    /// Whether the cluster's `CLUSTER SHARDS` names each node's `availability-zone`: Valkey 9.1
    /// and later (`make test-matrix` runs these tests against 9.0 too). When it doesn't, says so.
    func shardsNameZones() async throws -> Bool {
        let version = try await SharedCluster.valkey().serverVersion()
        if version >= ServerVersion("9.1") { return true }
        print("valkey \(version): CLUSTER SHARDS names no availability zone; azAffinity reads fall back to any replica")
        return false
    }

    @Test func azAffinityWithPrimaryReadsFromThePrimaryInTheClientsZone() async throws {
        let zones = try await shardsNameZones()
        let served = try await reads(.azAffinityReplicasAndPrimary, clientAZ: "zone-p")
        if zones {
            #expect(served.primary >= 30 && served.replica < 5)
        } else {
            // No node is known to be in the client's zone: any replica serves, as GLIDE falls back.
            #expect(served.replica >= 30, "\(served)")
        }
    }

    @Test func topologyCarriesTheZones() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let topology = try #require(client.topology)
        let zones = try await shardsNameZones()
        #expect(topology.shards.allSatisfy { $0.primary?.availabilityZone == (zones ? "zone-p" : nil) })
        #expect(topology.shards.allSatisfy { $0.replicas.allSatisfy { $0.availabilityZone == (zones ? "zone-r" : nil) } })
        let info = try await client.info([.server])
        #expect(info.perNodeValues?.count == 3)
        await client.close()
    }
}
