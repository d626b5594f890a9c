import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Where a hedged read's second request goes on a standalone client, without sockets.
@Suite struct HedgeRoutingTests {
    final class Node: Sendable {
        let name: String
        init(_ name: String) { self.name = name }
    }

    /// A primary and two replicas, in zones a, a and b.
    static func routing(_ readFrom: ReadFrom, clientAZ: String? = nil) -> (StandaloneRouting<Node>, [Node]) {
        let addresses = (0..<3).map { NodeAddress(host: "10.0.0.\($0)", port: 6379) }
        var topology = StandaloneTopology(addresses: addresses)
        topology.connected(0, role: "master", zone: "a")
        topology.connected(1, role: "replica", zone: "a")
        topology.connected(2, role: "replica", zone: "b")
        let nodes = [Node("primary"), Node("replica a"), Node("replica b")]
        return (StandaloneRouting(connections: nodes, topology: topology, readFrom: readFrom, clientAZ: clientAZ), nodes)
    }

    @Test func aHedgeGoesToAnotherReplicaElseThePrimaryAndNeverWhereTheReadWent() {
        let (routing, nodes) = Self.routing(.preferReplica)
        for _ in 0..<4 {
            #expect(routing.hedgeConnection(after: nodes[1]) === nodes[2])
            #expect(routing.hedgeConnection(after: nodes[2]) === nodes[1])
            // A read that went to the primary (no replica was reachable then) hedges on a replica.
            #expect(routing.hedgeConnection(after: nodes[0]) !== nodes[0])
        }
        // Hedging leaves the reads' own rotation as it was: they still take the replicas in turn.
        let reads = (0..<4).map { _ in routing.connection(forRead: true) }
        #expect(reads[0] !== reads[1] && reads[0] === reads[2] && reads[1] === reads[3])
        for read in reads { _ = routing.hedgeConnection(after: read) }
        #expect(routing.connection(forRead: true) === reads[0])
        // Reads from the primary only are never hedged, for the client or for one call.
        let (primaryOnly, same) = Self.routing(.primary)
        #expect(primaryOnly.hedgeConnection(after: same[0]) == nil)
        #expect(routing.hedgeConnection(after: nodes[1], override: .primary) == nil)
    }

    @Test func aZoneAwareClientHedgesInItsZoneFirst() {
        // Zone a has one replica: its hedge leaves the zone for the other replica, not the
        // primary; zone b's replica hedges on zone a's.
        let (routing, nodes) = Self.routing(.azAffinity, clientAZ: "a")
        #expect(routing.hedgeConnection(after: nodes[1]) === nodes[2])
        // With the primary in the zone as a candidate, it comes before the far replica.
        let (withPrimary, same) = Self.routing(.azAffinityReplicasAndPrimary, clientAZ: "a")
        #expect(withPrimary.hedgeConnection(after: same[1]) === same[0])
    }

    @Test func hedgeSettingsThatWouldDoNothingAreRefused() {
        #expect(HedgedReads().problem == nil)
        #expect(HedgedReads(budget: 0).problem != nil)
        #expect(HedgedReads(budget: 1.5).problem != nil)
        #expect(HedgedReads(burst: 0).problem != nil)
        #expect(HedgedReads(minimumDelay: .milliseconds(10), maximumDelay: .milliseconds(5)).problem != nil)
    }
}
