import GlideConnection
import GlideTopology
import Testing

@testable import GlideClient

/// What a refresh reports between two views of a cluster, with no sockets.
@Suite struct TopologyChangeTests {
    static func node(_ port: Int, _ role: ClusterNode.Role) -> ClusterNode {
        ClusterNode(id: "n\(port)", address: NodeAddress(host: "10.0.0.1", port: port), role: role)
    }

    static func view(_ shards: [(ClosedRange<UInt16>, Int, [Int])]) -> ClusterTopology {
        ClusterTopology(
            shards: shards.map { slots, primary, replicas in
                ClusterShard(slots: [slots], primary: node(primary, .primary), replicas: replicas.map { node($0, .replica) })
            })
    }

    static func address(_ port: Int) -> NodeAddress { NodeAddress(host: "10.0.0.1", port: port) }

    @Test func theSameViewIsNoChange() {
        let view = Self.view([(0...8191, 7000, [7003]), (8192...16383, 7001, [7004])])
        #expect(TopologyChange(from: view, to: view).events.isEmpty)
    }

    @Test func aReshardIsTheRangesThatMovedAndNothingElse() {
        let before = Self.view([(0...8191, 7000, [7003]), (8192...16383, 7001, [7004])])
        let after = Self.view([(0...8099, 7000, [7003]), (8100...16383, 7001, [7004])])
        #expect(
            TopologyChange(from: before, to: after).events == [.slotsMoved(8100...8191, from: Self.address(7000), to: Self.address(7001))])
    }

    @Test func aFailoverIsReportedOnceAndItsSlotsAreNotMoves() {
        let before = Self.view([(0...8191, 7000, [7003]), (8192...16383, 7001, [7004])])
        // 7003 took over; 7000 came back as its replica.
        let after = Self.view([(0...8191, 7003, [7000]), (8192...16383, 7001, [7004])])
        #expect(TopologyChange(from: before, to: after).events == [.failover(from: Self.address(7000), to: Self.address(7003))])
    }

    @Test func nodesThatLeaveAndJoinAreNamedFailoversFirst() {
        let before = Self.view([(0...8191, 7000, [7003]), (8192...16383, 7001, [7004])])
        // 7000 is gone and 7003 serves its slots; 7005 joined as 7001's replica.
        let after = Self.view([(0...8191, 7003, []), (8192...16383, 7001, [7004, 7005])])
        #expect(
            TopologyChange(from: before, to: after).events == [
                .failover(from: Self.address(7000), to: Self.address(7003)), .nodeRemoved(Self.address(7000)),
                .nodeAdded(Self.address(7005)),
            ])
    }

    @Test func slotsNoNodeServedAreMovesFromNobody() {
        let before = Self.view([(0...8191, 7000, [])])
        let after = Self.view([(0...8191, 7000, []), (8192...16383, 7001, [])])
        #expect(
            TopologyChange(from: before, to: after).events == [
                .nodeAdded(Self.address(7001)), .slotsMoved(8192...16383, from: nil, to: Self.address(7001)),
            ])
    }

    @Test func aPrimaryThatWasAnotherShardsReplicaIsAMoveNotAFailover() {
        let before = Self.view([(0...8191, 7000, [7003]), (8192...16383, 7001, [7004])])
        // 7003 (a replica of 7000) now serves 7001's slots: nobody handed them over in a failover.
        let after = Self.view([(0...8191, 7000, []), (8192...16383, 7003, [7004])])
        #expect(
            TopologyChange(from: before, to: after).events == [
                .nodeRemoved(Self.address(7001)), .slotsMoved(8192...16383, from: Self.address(7001), to: Self.address(7003)),
            ])
    }
}
