/// Chooses one topology from the views several nodes gave.
///
/// Nodes can disagree for a while: during a failover, a slot migration, or when a node has just
/// joined and knows only itself. Asking several and adopting the view most of them agree on keeps
/// one confused node from steering the client.
public enum TopologyElection {
    /// The elected view and how it was chosen.
    public struct Outcome: Sendable, Hashable {
        /// The view adopted (with the health information of one of the nodes that gave it).
        public var topology: ClusterTopology
        /// How many nodes gave this view.
        public var votes: Int
        /// How many views were compared (nodes that answered, after discarding empty views).
        public var voters: Int

        /// Whether more than half of the voters agree.
        public var isMajority: Bool { votes * 2 > voters }
    }

    /// The view given by the most nodes.
    ///
    /// Views that serve no slot at all (a node that has not joined yet) are discarded while any
    /// view serves slots. Ties go to the view that covers more slots, then to the one with more
    /// nodes, then to the one that sorts first, so the outcome never depends on the order the
    /// answers arrived in. `nil` when there is no view.
    public static func elect(_ views: [ClusterTopology]) -> Outcome? {
        let candidates = views.contains { $0.coveredSlotCount > 0 } ? views.filter { $0.coveredSlotCount > 0 } : views
        guard !candidates.isEmpty else { return nil }
        var tally: [ClusterTopology: (votes: Int, first: ClusterTopology)] = [:]
        for view in candidates {
            tally[view.comparable, default: (0, view)].votes += 1
        }
        let ranked = tally.sorted { lhs, rhs in
            if lhs.value.votes != rhs.value.votes { return lhs.value.votes > rhs.value.votes }
            if lhs.key.coveredSlotCount != rhs.key.coveredSlotCount { return lhs.key.coveredSlotCount > rhs.key.coveredSlotCount }
            if lhs.key.nodes.count != rhs.key.nodes.count { return lhs.key.nodes.count > rhs.key.nodes.count }
            return lhs.key.sortKey < rhs.key.sortKey
        }
        let winner = ranked[0]
        return Outcome(topology: winner.value.first, votes: winner.value.votes, voters: candidates.count)
    }
}

extension ClusterTopology {
    /// Every compared field of every node, in order: a total order for the last tie-break.
    var sortKey: String {
        let nodeKeys = nodes.map { "\($0.id) \($0.address) \($0.role) \($0.availabilityZone ?? "-")" }
        return description + "\n" + nodeKeys.joined(separator: "\n")
    }
}
