import Foundation
import Glide
import GlideTestSupport
import Testing

/// A cluster of three redis-server primaries that speak only TLS, to clients and on the bus.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TLSClusterTests {
    @Test func discoveryRoutingAndMovedOverTLS() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 0, tls: try await TestCertificates.shared())
        defer { cluster.stop() }
        // One seed is enough: the rest is discovered, over TLS, at the nodes' TLS ports.
        let client = try await GlideClusterClient.create(cluster.configuration { $0.addresses = [cluster.seeds[1]] })
        let primaries = try await cluster.primaries()
        let everyNode = try await client.customCommand(["INFO", "server"], route: .allNodes)
        #expect(Set(try #require(everyNode.perNodeValues).keys) == Set(primaries.map(\.address)))

        // Keys across all three shards land on their slot's primary.
        let keys = (0..<60).map { "tls-key:\($0)" }
        for key in keys { try await client.set(key, "v-\(key)") }
        for primary in primaries {
            let count = try await cluster.command(primary, ["DBSIZE"]).intValue ?? 0
            #expect(count > 0, "\(primary) holds no key")
        }
        #expect(try await client.mget(keys) == keys.map { "v-\($0)" })
        #expect(try await client.dbsize() == 60)

        // The slot of a key moves to another primary; the client follows MOVED over TLS.
        let key = keys[0]
        let slot = HashSlot.of(key)
        let owner = try await cluster.primary(forSlot: slot)
        let target = primaries.first { $0.id != owner.id }!
        try await cluster.migrateSlot(slot, to: target)
        #expect(try await client.get(key) == "v-\(key)")
        try await client.set(key, "after the move")
        #expect(try await cluster.command(target, ["GET", key]).stringValue == "after the move")
        // Reloaded material serves the connections made after it: a node's cut connection comes back.
        try client.reloadTLS()
        let ids = try #require(
            try await client.customCommand(["CLIENT", "ID"], route: .slotKey(BulkString(key), .primary)).singleValue?.intValue)
        _ = try await cluster.command(target, ["CLIENT", "KILL", "ID", String(ids)])
        try await Polling.waitUntil("the node's connection is back", timeout: .seconds(10)) {
            (try? await client.get(key)) == "after the move"
        }
        await client.close()
    }
}
