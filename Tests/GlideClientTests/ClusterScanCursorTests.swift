import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The cluster scan's bookkeeping alone: slot sets, a node's view, and when slots count as done.
@Suite(.timeLimit(.minutes(2))) struct ClusterScanCursorTests {
    let a = NodeAddress(host: "127.0.0.1", port: 7000)
    let b = NodeAddress(host: "127.0.0.1", port: 7001)

    /// A's own view: it serves 0-8000 and 8001, and migrates 100 to B; B serves the rest and imports 100.
    var view: ClusterNodesView {
        ClusterNodesView(
            parsing: """
                aaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8000 8001 [100->-bbbb]
                bbbb 127.0.0.1:7001@17001,node-b master - 0 0 2 connected 8002-16383 [100-<-aaaa]
                cccc 127.0.0.1:7002@17002 slave aaaa 0 0 1 connected
                dddd :7003@17003 master,fail - 0 0 3 disconnected
                """, queried: a)
    }

    @Test func aViewKnowsWhoServesWhatAndWhatIsMoving() {
        let view = view
        #expect(view.nodes.count == 3, "the failed node is left out")
        #expect(view.owner(of: 0) == a && view.owner(of: 8001) == a && view.owner(of: 8002) == b && view.owner(of: 16383) == b)
        let clean = view.cleanSlots(of: a)
        #expect(clean.count == 8001 && !clean.contains(100) && clean.contains(99) && clean.contains(8001))
        #expect(view.cleanSlots(of: b).count == 16383 - 8002 + 1)
        #expect(view.cleanSlots(of: NodeAddress(host: "127.0.0.1", port: 7002)).isEmpty, "a replica serves nothing")
    }

    @Test func aNodesSlotsAreDoneOnlyWhenHeldCleanlyFromStartToEnd() {
        var cursor = ClusterScanCursor()
        #expect(cursor.nextSlot == 0 && !cursor.isFinished)
        cursor.begin(a, view: view)
        cursor.advance(next: "17", viewAtEnd: nil)
        #expect(cursor.node == a && cursor.nodeCursor == "17" && cursor.slotsDone == 0)
        // By the end, A gave slot 5 away: it is not done, nor is migrating slot 100.
        let after = ClusterNodesView(
            parsing: """
                aaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-4 6-8000 8001 [100->-bbbb]
                """, queried: a)
        cursor.advance(next: "0", viewAtEnd: after)
        #expect(cursor.node == nil && cursor.slotsDone == 8000)
        #expect(cursor.nextSlot == 5)

        cursor.begin(b, view: view)
        cursor.advance(next: "0", viewAtEnd: view)
        #expect(cursor.nextSlot == 5)
        cursor.nodeFailed()
        #expect(cursor.failures == 1 && cursor.node == nil)
        cursor.skip(5)
        cursor.skip(100)
        #expect(cursor.isFinished && cursor.nextSlot == nil)
    }

    @Test func slotSets() {
        var set = SlotSet()
        #expect(set.isEmpty && set.firstMissing == 0)
        set.insert(0...63)
        #expect(set.count == 64 && set.firstMissing == 64)
        var other = SlotSet()
        other.insert(32...100)
        set.formIntersection(other)
        #expect(set.count == 32 && set.contains(32) && !set.contains(31))
        set.subtract(other)
        #expect(set.isEmpty)
        set.insert(0...16383)
        #expect(set.isFull && set.firstMissing == nil)
    }
}
