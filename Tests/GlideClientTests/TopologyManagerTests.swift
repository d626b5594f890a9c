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
        var held: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Lock(State())

    /// Answers from now on: each node's view (a node without one fails as unreachable).
    func answer(_ views: [NodeAddress: ClusterTopology]) {
        state.withLock { $0.views = views }
    }

    /// Holds every answer until `open()`.
    func close() { state.withLock { $0.closed = true } }

    /// Lets the held answers go, and later ones through.
    func open() {
        let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = false
            defer { state.held = [:] }
            return Array(state.held.values)
        }
        for continuation in held { continuation.resume() }
    }

    /// How many times `address` was asked.
    func asked(_ address: NodeAddress) -> Int { state.withLock { $0.asked[address, default: 0] } }

    func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
        let id = state.withLock { state -> UInt64 in
            state.asked[address, default: 0] += 1
            state.nextID += 1
            return state.nextID
        }
        // Held without a clock: released by `open()`, or by the cancellation of a refresh that
        // `close()` of the manager ends.
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let release = state.withLock { state -> Bool in
                    guard state.closed, !Task.isCancelled else { return true }
                    state.held[id] = continuation
                    return false
                }
                if release { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.held.removeValue(forKey: id) }?.resume()
        }
        if Task.isCancelled { throw TopologyError("cancelled") }
        guard let view = state.withLock({ $0.views[address] }) else { throw TopologyError("\(address) is unreachable") }
        return view
    }

    func mostTellingFailure(_ addresses: [NodeAddress]) -> GlideError? {
        GlideError(.authenticationFailed, "WRONGPASS scripted")
    }
}

/// The topology manager over scripted views, on a manual loop: the test is the loop's thread, and
/// the clock moves only when the test moves it, so "nothing more happens within the rate limit"
/// is checked by moving the clock, not by sleeping. `ClusterNodes` is the real one; its
/// connections are made but never used, so nothing connects anywhere.
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
        let loop: ManualEventLoop
        let core: ClientCore<ManualEventLoop, FakeConnector>
        let nodes: ClusterNodes<ManualEventLoop, FakeConnector>
        let discovery: GatedDiscovery
        let manager: TopologyManager<ManualEventLoop, FakeConnector, GatedDiscovery>

        /// Does all the loop's work that needs no time to pass.
        func settle() {
            repeat { loop.run() } while loop.hasPendingTasks
        }

        /// Runs `body` as a task on the loop and drives the loop until it ends: work first, and
        /// only when none is left does the clock jump to the next timer.
        func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
            let outcome = Lock<Result<T, any Error>?>(nil)
            Task(executorPreference: loop) {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                outcome.withLock { $0 = result }
            }
            for _ in 0..<10_000 {
                settle()
                if let result = outcome.withLock({ $0 }) { return try result.get() }
                guard let next = loop.nextTimerDeadline else {
                    Issue.record("the task waits for something that will never happen: no work, no timer")
                    throw FakeClusterStuck()
                }
                loop.advance(to: next)
            }
            Issue.record("the task never ended")
            throw FakeClusterStuck()
        }

        /// Moves the clock by `duration`, firing what comes due on the way, and settles.
        func pass(_ duration: Duration) {
            let end = loop.now() + duration
            settle()
            while let next = loop.nextTimerDeadline, next <= end {
                loop.advance(to: next)
                settle()
            }
            loop.advance(to: end)
            settle()
        }

        func close() throws {
            let manager = self.manager
            let core = self.core
            let nodes = self.nodes
            try run {
                await manager.close()
                nodes.close()
                await core.close()
            }
        }
    }

    func parts(seeds: [NodeAddress], minimumInterval: Duration = .milliseconds(20)) -> Parts {
        var configuration = GlideClusterClientConfiguration(addresses: seeds)
        configuration.topologyRefresh = TopologyRefreshPolicy(periodicInterval: nil, minimumInterval: minimumInterval)
        let loop = ManualEventLoop()
        let cluster = FakeCluster.threeShards()
        let core = ClientCore<ManualEventLoop, FakeConnector>(
            options: configuration.options, loop: loop, makeConnector: { address, _ in FakeConnector(address: address, cluster: cluster) })
        let nodes = ClusterNodes(configuration: configuration, core: core, relay: PubSubRelay(inbox: PubSubInbox(nil)))
        let discovery = GatedDiscovery()
        return Parts(
            loop: loop, core: core, nodes: nodes, discovery: discovery, manager: TopologyManager(nodes: nodes, discovery: discovery))
    }

    @Test func theSeedsViewIsAdoptedWithAConnectionPerNode() throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        let manager = parts.manager
        try parts.run { try await manager.discoverFromSeeds() }
        #expect(parts.nodes.topology == view([a, b, c]))
        #expect(parts.nodes.primaries().map(\.0) == [a, b, c])
        try parts.close()
    }

    @Test func aSplitViewDuringDiscoveryAdoptsWhatMostNodesSay() throws {
        let parts = parts(seeds: [a, b, c])
        // c still believes in the old layout; a and b have seen d replace it.
        parts.discovery.answer([a: view([a, b, d]), b: view([a, b, d]), c: view([a, b, c])])
        let manager = parts.manager
        try parts.run { try await manager.discoverFromSeeds() }
        #expect(parts.nodes.topology == view([a, b, d]))
        #expect(parts.nodes.connection(to: d) != nil)
        #expect(parts.nodes.connection(to: c) == nil)
        try parts.close()
    }

    @Test func noSeedAnsweringFailsWithTheMostTellingError() throws {
        let parts = parts(seeds: [a, b])
        let manager = parts.manager
        let failure = try parts.run { () async -> GlideError? in
            do throws(GlideError) {
                try await manager.discoverFromSeeds()
                return nil
            } catch {
                return error
            }
        }
        #expect(failure?.code == .authenticationFailed)
        #expect(failure?.message.contains("no seed node gave the cluster topology") == true)
        try parts.close()
    }

    @Test func aRefreshAdoptsANewViewAndRetiresNodesThatLeft() throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        let manager = parts.manager
        try parts.run { try await manager.discoverFromSeeds() }
        let slotOfC = UInt16(HashSlot.count * 2 / 3)
        // c failed over to d; every node now says so.
        parts.discovery.answer([a: view([a, b, d]), b: view([a, b, d]), d: view([a, b, d])])
        parts.manager.requestRefresh()
        // The rate limit (20 ms) counts from the discovery's start.
        parts.pass(.milliseconds(20))
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 1)
        #expect(parts.nodes.topology == view([a, b, d]))
        #expect(parts.nodes.connection(forSlot: slotOfC, replica: false) === parts.nodes.connection(to: d))
        #expect(parts.nodes.connection(to: c) == nil)
        try parts.close()
    }

    /// A storm of asks (a `MOVED` reply per request, say) while a refresh runs: that refresh,
    /// then exactly one follow-up once the rate limit allows, and nothing after.
    @Test func aStormOfAsksCausesOneRefreshAndOneFollowUp() async throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c]), b: view([a, b, c]), c: view([a, b, c])])
        let manager = parts.manager
        try parts.run { try await manager.discoverFromSeeds() }
        #expect(parts.discovery.asked(a) == 1)

        parts.discovery.close()
        parts.manager.requestRefresh()
        parts.pass(.milliseconds(20))
        #expect(parts.discovery.asked(a) == 2, "the refresh runs, held at the gate")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<250 { manager.requestRefresh() } }
            }
        }
        // Every ask has landed on the loop (its queue runs in order) before the gate opens.
        parts.pass(.seconds(1))
        #expect(parts.discovery.asked(a) == 2, "asks during a refresh start nothing by themselves")
        // The follow-up starts as the refresh ends: the rate limit counts from the refresh's
        // start, a second ago.
        parts.discovery.open()
        parts.settle()
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 2)
        #expect(parts.discovery.asked(a) == 3, "one follow-up for the whole storm")
        // Ten rate limits later, nothing else has started.
        parts.pass(.milliseconds(200))
        #expect(parts.discovery.asked(a) == 3)
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 2)
        try parts.close()
    }

    @Test func closeEndsARefreshThatIsRunning() throws {
        let parts = parts(seeds: [a])
        parts.discovery.answer([a: view([a, b, c])])
        let manager = parts.manager
        try parts.run { try await manager.discoverFromSeeds() }
        parts.discovery.close()
        parts.manager.requestRefresh()
        parts.pass(.milliseconds(20))
        #expect(parts.discovery.asked(a) == 2)
        // The refresh is held at the gate: close() cancels it and returns once it has ended.
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 0)
        try parts.run { await manager.close() }
        #expect(parts.manager.completedRefreshes.load(ordering: .relaxed) == 1)
        // Asks after close start nothing, however long the clock runs.
        parts.discovery.open()
        parts.manager.requestRefresh()
        parts.pass(.seconds(1))
        #expect(parts.discovery.asked(a) == 2)
        try parts.close()
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
