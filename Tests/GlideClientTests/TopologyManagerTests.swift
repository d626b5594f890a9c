import GlideTopology
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Views of the cluster given by the test: each node's answer can change between refreshes, and
/// a gate can hold every answer until the test opens it. Counts how often each node is asked.
final class GatedDiscovery: ClusterDiscovery, Sendable {
    private struct State {
        var views: [NodeAddress: ClusterTopology] = [:]
        var asked: [NodeAddress: Int] = [:]
        var closed = false
    }
    private let state = Lock(State())

    /// Answers from now on: each node's view (a node without one fails as unreachable).
    func answer(_ views: [NodeAddress: ClusterTopology]) {
        state.withLock { $0.views = views }
    }

    /// Holds every answer until `open()`.
    func close() { state.withLock { $0.closed = true } }
    func open() { state.withLock { $0.closed = false } }

    /// How many times `address` was asked.
    func asked(_ address: NodeAddress) -> Int { state.withLock { $0.asked[address, default: 0] } }

    func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
        state.withLock { $0.asked[address, default: 0] += 1 }
        // Polled, so a cancelled refresh ends: the gate is the test's, not a real node's.
        while state.withLock({ $0.closed }) {
            if Task.isCancelled { throw TopologyError("cancelled") }
            try? await Task.sleep(for: .milliseconds(1))
        }
        guard let view = state.withLock({ $0.views[address] }) else { throw TopologyError("\(address) is unreachable") }
        return view
    }

    func mostTellingFailure(_ addresses: [NodeAddress]) -> GlideError? {
        GlideError(.authenticationFailed, "WRONGPASS scripted")
    }
}

/// The topology manager over scripted views: what it adopts, how refreshes coalesce, and how it
/// fails. `ClusterNodes` is the real one; its connections are made but never used, so nothing
/// opens a socket.
@Suite(.timeLimit(.minutes(2))) struct TopologyManagerTests {
    let a = NodeAddress(host: "10.0.0.1", port: 7000)
    let b = NodeAddress(host: "10.0.0.2", port: 7000)
    let c = NodeAddress(host: "10.0.0.3", port: 7000)
    let d = NodeAddress(host: "10.0.0.4", port: 7000)

    /// Three primaries splitting the slots evenly.
    func view(_ primaries: [NodeAddress]) -> ClusterTopology {
        ClusterTopology(
            shards: primaries.enumerated().map { index, address in
                let first = UInt16(HashSlot.count * index / primaries.count)
                let last = UInt16(HashSlot.count * (index + 1) / primaries.count - 1)
                return ClusterShard(slots: [first...last], primary: ClusterNode(address: address, role: .primary))
            })
    }

    struct Parts {
        let core: SocketCore
        let nodes: ClusterNodes<EpollEventLoop, SocketConnector>
        let discovery: GatedDiscovery
        let manager: TopologyManager<EpollEventLoop, SocketConnector, GatedDiscovery>

        func close() async {
            await manager.close()
            nodes.close()
            await core.close()
        }
    }

    func parts(seeds: [NodeAddress], minimumInterval: Duration = .milliseconds(20)) -> Parts {
        let configuration = GlideClusterClientConfiguration(
            addresses: seeds, topologyRefresh: TopologyRefreshPolicy(periodicInterval: nil, minimumInterval: minimumInterval))
        let core = SocketCore(options: configuration.options, loop: .shared, tls: nil)
        let nodes = ClusterNodes(configuration: configuration, core: core, relay: PubSubRelay(inbox: PubSubInbox(nil)))
        let discovery = GatedDiscovery()
        return Parts(core: core, nodes: nodes, discovery: discovery, manager: TopologyManager(nodes: nodes, discovery: discovery))
    }

    @Test func theSeedsViewIsAdoptedWithAConnectionPerNode() async throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        try await parts.manager.discoverFromSeeds()
        #expect(parts.nodes.topology == view([a, b, c]))
        #expect(parts.nodes.primaries().map(\.0) == [a, b, c])
        await parts.close()
    }

    @Test func aSplitViewDuringDiscoveryAdoptsWhatMostNodesSay() async throws {
        let parts = parts(seeds: [a, b, c])
        // c still believes in the old layout; a and b have seen d replace it.
        parts.discovery.answer([a: view([a, b, d]), b: view([a, b, d]), c: view([a, b, c])])
        try await parts.manager.discoverFromSeeds()
        #expect(parts.nodes.topology == view([a, b, d]))
        #expect(parts.nodes.connection(to: d) != nil)
        #expect(parts.nodes.connection(to: c) == nil)
        await parts.close()
    }

    @Test func noSeedAnsweringFailsWithTheMostTellingError() async throws {
        let parts = parts(seeds: [a, b])
        let failure = await failure { () async throws(GlideError) in try await parts.manager.discoverFromSeeds() }
        #expect(failure?.code == .authenticationFailed)
        #expect(failure?.message.contains("no seed node gave the cluster topology") == true)
        await parts.close()
    }

    @Test func aRefreshAdoptsANewViewAndRetiresNodesThatLeft() async throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        try await parts.manager.discoverFromSeeds()
        let slotOfC = UInt16(HashSlot.count * 2 / 3)
        // c failed over to d; every node now says so.
        parts.discovery.answer([a: view([a, b, d]), b: view([a, b, d]), d: view([a, b, d])])
        parts.manager.requestRefresh()
        try await waitUntil { parts.manager.completedRefreshes.load(ordering: .relaxed) == 1 }
        #expect(parts.nodes.topology == view([a, b, d]))
        #expect(parts.nodes.connection(forSlot: slotOfC, replica: false) === parts.nodes.connection(to: d))
        #expect(parts.nodes.connection(to: c) == nil)
        await parts.close()
    }

    /// A storm of asks (a `MOVED` reply per request, say) while a refresh runs: that refresh,
    /// then exactly one follow-up once the rate limit allows, and nothing after.
    @Test func aStormOfAsksCausesOneRefreshAndOneFollowUp() async throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c]), b: view([a, b, c]), c: view([a, b, c])])
        try await parts.manager.discoverFromSeeds()
        #expect(parts.discovery.asked(a) == 1)

        parts.discovery.close()
        parts.manager.requestRefresh()
        try await waitUntil { parts.discovery.asked(a) == 2 }  // the refresh runs, held at the gate
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<250 { parts.manager.requestRefresh() } }
            }
        }
        // Every ask has landed on the loop (its queue runs in order) before the gate opens.
        await withCheckedContinuation { continuation in parts.core.loop.execute { continuation.resume() } }
        #expect(parts.discovery.asked(a) == 2, "asks during a refresh start nothing by themselves")
        parts.discovery.open()
        try await waitUntil { parts.manager.completedRefreshes.load(ordering: .relaxed) == 2 }
        #expect(parts.discovery.asked(a) == 3, "one follow-up for the whole storm")
        // Well past the rate limit (20 ms), nothing else starts.
        try await Task.sleep(for: .milliseconds(200))
        #expect(parts.discovery.asked(a) == 3)
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 2)
        await parts.close()
    }

    @Test func closeEndsARefreshThatIsRunning() async throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        try await parts.manager.discoverFromSeeds()
        parts.discovery.close()
        parts.manager.requestRefresh()
        try await waitUntil { parts.discovery.asked(a) == 2 }
        // The refresh is held at the gate: close() cancels it and returns once it has ended.
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 0)
        await parts.manager.close()
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 1)
        // Asks after close start nothing.
        parts.discovery.open()
        parts.manager.requestRefresh()
        try await Task.sleep(for: .milliseconds(50))
        #expect(parts.discovery.asked(a) == 2)
        await parts.close()
    }

    /// Polls `condition` every millisecond for up to 5 s.
    func waitUntil(_ condition: () -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while !condition() {
            guard clock.now < deadline else {
                Issue.record("condition not met within 5 s")
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The error `body` throws, if any.
    func failure(_ body: () async throws(GlideError) -> Void) async -> GlideError? {
        do throws(GlideError) {
            try await body()
            return nil
        } catch {
            return error
        }
    }
}
