/// How the client learns the cluster's shape: asks nodes for their view.
///
/// The production implementation sends `CLUSTER SHARDS` (or `CLUSTER SLOTS` to servers before
/// 7.0) over the client's connections; tests give scripted views.
public protocol NodeDiscovery: Sendable {
    /// The view of the node at `address`.
    func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology
}

/// A discovery whose views are given up front: for tests, and for tools that already know the
/// topology.
public struct ScriptedDiscovery: NodeDiscovery {
    /// Each node's view, or the error it fails with.
    public var views: [NodeAddress: Result<ClusterTopology, TopologyError>]

    /// A discovery answering with `views`; other addresses fail as unreachable.
    public init(views: [NodeAddress: Result<ClusterTopology, TopologyError>]) {
        self.views = views
    }

    /// The scripted view of `address`.
    public func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
        guard let view = views[address] else { throw TopologyError("\(address) is unreachable") }
        return try view.get()
    }
}

/// The result of asking several nodes.
public struct DiscoveryResult: Sendable {
    /// The elected view, or `nil` when no node answered usefully.
    public var election: TopologyElection.Outcome?
    /// The nodes that failed, with why.
    public var failures: [(address: NodeAddress, error: TopologyError)]
}

extension NodeDiscovery {
    /// Asks up to `sampleSize` of `candidates` (in the order given, duplicates skipped) for
    /// their views, all at once, and elects one.
    ///
    /// Once more than half of the nodes asked have given one view that serves slots, no answer
    /// still to come can change the election: the questions left are cancelled, and the refresh
    /// doesn't wait on an unreachable node's timeout.
    public func discover(from candidates: [NodeAddress], sampleSize: Int) async -> DiscoveryResult {
        var seen = Set<NodeAddress>()
        let chosen = Array(candidates.filter { seen.insert($0).inserted }.prefix(max(sampleSize, 1)))
        // Each child calls a method instead of holding a typed `do`/`catch` itself: built with -O
        // by Swift 6.3.1, such children here lost their results (a group that returned nothing).
        let answers = await withTaskGroup(of: (NodeAddress, Result<ClusterTopology, TopologyError>).self) { group in
            for address in chosen {
                group.addTask { await self.answer(from: address) }
            }
            var collected: [(NodeAddress, Result<ClusterTopology, TopologyError>)] = []
            var votes: [ClusterTopology: Int] = [:]
            while let answer = await group.next() {
                collected.append(answer)
                guard case .success(let view) = answer.1, view.coveredSlotCount > 0 else { continue }
                let count = votes[view.comparable, default: 0] + 1
                votes[view.comparable] = count
                if count * 2 > chosen.count {
                    group.cancelAll()
                    break
                }
            }
            return collected
        }
        var views: [ClusterTopology] = []
        var failures: [(address: NodeAddress, error: TopologyError)] = []
        for (address, answer) in answers {
            switch answer {
            case .success(let view): views.append(view)
            case .failure(let error): failures.append((address, error))
            }
        }
        failures.sort { $0.address.description < $1.address.description }
        return DiscoveryResult(election: TopologyElection.elect(views), failures: failures)
    }

    /// The view of `address`, or why there is none.
    func answer(from address: NodeAddress) async -> (NodeAddress, Result<ClusterTopology, TopologyError>) {
        do throws(TopologyError) {
            return (address, .success(try await view(from: address)))
        } catch {
            return (address, .failure(error))
        }
    }
}
