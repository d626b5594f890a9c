import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The standalone client's view of its nodes: roles from handshakes and `ROLE`, the election of
/// the primary through a failover, and where reads go.
@Suite(.timeLimit(.minutes(2))) struct StandaloneTopologyTests {
    let a = NodeAddress(host: "10.0.0.1", port: 6379)
    let b = NodeAddress(host: "10.0.0.2", port: 6379)
    let c = NodeAddress(host: "10.0.0.3", port: 6379)

    func connectedTopology() -> StandaloneTopology {
        var topology = StandaloneTopology(addresses: [a, b, c])
        topology.connected(0, role: "master", zone: "az-1")
        topology.connected(1, role: "replica", zone: "az-1")
        topology.connected(2, role: "replica", zone: "az-2")
        _ = topology.roleReported(1, .replica(of: a))
        _ = topology.roleReported(2, .replica(of: a))
        #expect(!elected(&topology))
        return topology
    }

    @Test func theFirstAddressIsThePrimaryUntilRolesSayOtherwise() {
        var topology = StandaloneTopology(addresses: [b, a])
        #expect(topology.primary == 0)
        topology.connected(0, role: "replica", zone: nil)
        topology.connected(1, role: "master", zone: nil)
        #expect(elected(&topology))
        #expect(topology.nodes[topology.primary].address == a)
    }

    @Test func aManualFailoverMovesThePrimaryOnlyOnceTheOldOneFollowsTheNewOne() {
        var topology = connectedTopology()
        // REPLICAOF NO ONE on b: two primaries, no votes either way: the current one stays.
        _ = topology.roleReported(1, .primary(replicas: []))
        _ = topology.roleReported(2, .replica(of: a))
        #expect(!elected(&topology))
        #expect(topology.primary == 0)
        // The old primary is made b's replica (and c follows): b it is.
        _ = topology.roleReported(0, .replica(of: b))
        _ = topology.roleReported(2, .replica(of: b))
        #expect(elected(&topology))
        #expect(topology.primary == 1)
    }

    @Test func aCrashedPrimaryIsReplacedByThePromotedReplica() {
        var topology = connectedTopology()
        topology.lost(0)
        #expect(!elected(&topology))  // nothing promoted yet: writes wait for the old primary
        _ = topology.roleReported(2, .primary(replicas: []))
        #expect(elected(&topology))
        #expect(topology.primary == 2)
    }

    @Test func theReplicasOfAPrimaryMostFollowWin() {
        var topology = connectedTopology()
        _ = topology.roleReported(1, .primary(replicas: []))
        _ = topology.roleReported(2, .replica(of: b))
        _ = topology.roleReported(0, .primary(replicas: []))
        #expect(elected(&topology))  // b has c's vote, a none
        #expect(topology.primary == 1)
    }

    @Test func nodesNamedByOthersAreReportedAsNew() {
        var topology = StandaloneTopology(addresses: [a])
        topology.connected(0, role: "master", zone: nil)
        #expect(topology.roleReported(0, .primary(replicas: [b, c])) == [b, c])
        #expect(topology.add(b) == 1)
        #expect(topology.add(b) == 1)
        #expect(topology.roleReported(0, .primary(replicas: [b, c])) == [c])
    }

    @Test func roleRepliesAreRead() {
        let primary = reply(
            "*3\r\n$6\r\nmaster\r\n:3129659\r\n*2\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9001\r\n$7\r\n3129242\r\n"
                + "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9002\r\n$7\r\n3129543\r\n")
        #expect(
            RoleReport(primary)
                == .primary(replicas: [NodeAddress(host: "127.0.0.1", port: 9001), NodeAddress(host: "127.0.0.1", port: 9002)]))
        let replica = reply("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9000\r\n$9\r\nconnected\r\n:3167038\r\n")
        #expect(RoleReport(replica) == .replica(of: NodeAddress(host: "127.0.0.1", port: 9000)))
        #expect(RoleReport(reply("*2\r\n$8\r\nsentinel\r\n*0\r\n")) == .other)
        #expect(RoleReport(reply("-NOPERM no permission\r\n")) == nil)
    }

    // MARK: Where reads go

    func table(_ topology: StandaloneTopology, clientAZ: String? = nil) -> StandaloneRouting<Marker>.Table {
        StandaloneRouting<Marker>.Table(connections: topology.nodes.map { Marker($0.address) }, topology: topology, clientAZ: clientAZ)
    }

    func reads(_ readFrom: ReadFrom, _ table: StandaloneRouting<Marker>.Table, count: Int = 4) -> [Int] {
        (0..<count).map { StandaloneRouting<Marker>.readIndex(table, readFrom: readFrom, rotation: $0) }
    }

    @Test func readsFollowReadFrom() {
        let topology = connectedTopology()
        #expect(reads(.primary, table(topology)) == [0, 0, 0, 0])
        #expect(reads(.preferReplica, table(topology)) == [1, 2, 1, 2])
        #expect(reads(.azAffinity, table(topology, clientAZ: "az-2")) == [2, 2, 2, 2])
        #expect(reads(.azAffinity, table(topology, clientAZ: "az-9")) == [1, 2, 1, 2])  // no replica there: any replica
        #expect(reads(.azAffinityReplicasAndPrimary, table(topology, clientAZ: "az-1")) == [1, 1, 1, 1])
    }

    @Test func azAffinityReplicasAndPrimaryFallsBackToALocalPrimary() {
        var topology = connectedTopology()
        topology.lost(1)  // the only replica in az-1
        #expect(reads(.azAffinityReplicasAndPrimary, table(topology, clientAZ: "az-1")) == [0, 0, 0, 0])
        #expect(reads(.azAffinity, table(topology, clientAZ: "az-1")) == [2, 2, 2, 2])
    }

    @Test func readsFallBackToThePrimaryWhenNoReplicaCanBeReached() {
        var topology = connectedTopology()
        topology.lost(1)
        topology.lost(2)
        #expect(reads(.preferReplica, table(topology)) == [0, 0, 0, 0])
        #expect(reads(.azAffinity, table(topology, clientAZ: "az-2")) == [0, 0, 0, 0])
    }
}

/// Elects, outside `#expect` (which can't call a mutating method).
func elected(_ topology: inout StandaloneTopology) -> Bool { topology.elect() }

/// Stands for a connection in routing tables.
final class Marker: Sendable {
    let address: NodeAddress
    init(_ address: NodeAddress) { self.address = address }
}
