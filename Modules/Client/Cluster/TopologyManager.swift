import GlideConnection
import GlideTopology
import GlideTransport
import Synchronization

/// Keeps the cluster topology current, as an actor on the client's event loop. It alone adopts
/// new views into `ClusterNodes` (connections for nodes that joined, retirement for nodes that
/// left), and it runs the periodic check and the refreshes that redirections and unreachable
/// nodes ask for, at the pace `TopologyRefreshStateMachine` sets: at most one at a time, and no
/// closer together than the minimum interval. (A `MOVED` reply patches its one slot in place, on
/// the request's own path, so the retry goes straight to the new owner.)
///
/// Requests never wait for it: they read the map under `ClusterNodes`' lock. Asking for a refresh
/// costs a request one atomic exchange: at most one ask is on its way to the loop at a time, so a
/// storm of `MOVED` replies is one message. The node connections themselves are the supervisor's:
/// it reconnects lost ones and checks idle ones every `heartbeatInterval`. Generic over how views
/// are found, so its tests script them, and over the loop and connector, as the nodes are.
actor TopologyManager<Loop: EventLoop, Connector: NodeConnector, Discovery: ClusterDiscovery>: TimerHandler {
    nonisolated let nodes: ClusterNodes<Loop, Connector>
    nonisolated let discovery: Discovery
    nonisolated let loop: Loop
    /// Refreshes completed, successful or not (for tests and statistics).
    nonisolated let completedRefreshes = Atomic<Int>(0)
    /// An ask for a refresh is on its way to the loop; asks until it lands add nothing.
    private nonisolated let askPending = Atomic<Bool>(false)
    /// Read by asks from any thread, so they stop once the client closes.
    private nonisolated let isClosed = Atomic<Bool>(false)

    /// Runs on the client's loop.
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }

    private var machine: TopologyRefreshStateMachine<Deadline>
    /// The refresh running, if any; `close()` ends it.
    private var refresh: Task<Void, Never>?
    private var closed = false

    init(nodes: ClusterNodes<Loop, Connector>, discovery: Discovery) {
        self.nodes = nodes
        self.discovery = discovery
        self.loop = nodes.core.loop
        self.machine = TopologyRefreshStateMachine(policy: nodes.configuration.topologyRefresh)
    }

    /// Asks the seeds, adopts the elected view and starts the periodic check; throws the most
    /// telling failure when no seed gave a view.
    func discoverFromSeeds() async throws(GlideError) {
        let seeds = nodes.configuration.addresses
        let result = await discovery.discover(from: seeds, sampleSize: max(nodes.configuration.topologySampleSize, seeds.count))
        guard let election = result.election else {
            if let failure = discovery.mostTellingFailure(seeds) {
                throw GlideError(
                    failure.code, "no seed node gave the cluster topology: \(failure.message)",
                    serverCode: failure.serverCode, address: failure.address, transportError: failure.transportError)
            }
            throw GlideError(.connectionFailed, "no seed node gave the cluster topology")
        }
        guard election.topology.coveredSlotCount > 0 else {
            throw GlideError(.configuration, "the cluster serves no slots yet: \(seeds.map(\.description).joined(separator: ", "))")
        }
        guard !closed else { throw GlideError(.clientClosed, "the client was closed") }
        nodes.adopt(election.topology)
        nodes.core.events.topologyRefreshed(nodes: election.topology.nodes.count, reason: "discovery")
        perform(machine.start(now: loop.now()))
    }

    /// Something suggests the topology changed (a redirection, a node that can't be reached).
    /// Any thread; never waits.
    nonisolated func requestRefresh() {
        guard !isClosed.load(ordering: .relaxed),
            !askPending.exchange(true, ordering: .acquiringAndReleasing)
        else { return }
        loop.execute { self.assumeIsolated { $0.refreshRequested() } }
    }

    /// Whether no refresh runs, none is asked for and none waits for the minimum interval: for a
    /// test that must know the client's view stays as it is until its next request.
    var isQuiet: Bool { refresh == nil && !askPending.load(ordering: .acquiring) && !machine.isRefreshing && !machine.hasPendingRequest }

    private func refreshRequested() {
        askPending.store(false, ordering: .releasing)
        guard !closed else { return }
        perform(machine.refreshRequested(now: loop.now()))
    }

    nonisolated func timerFired(now: Deadline) {
        assumeIsolated { manager in
            guard !manager.closed else { return }
            manager.perform(manager.machine.timerFired(now: now))
        }
    }

    private func perform(_ action: TopologyRefreshStateMachine<Deadline>.Action) {
        if let wakeUp = action.wakeUp { loop.scheduleTimer(at: wakeUp, handler: self) }
        guard action.startRefresh else { return }
        // Owned by this actor: kept in `refresh` (one at a time, as the machine decides), cancelled
        // and awaited by `close()`. It prefers the loop, so the discovery it awaits runs there too
        // (and a manual loop's test drives it).
        refresh = Task(executorPreference: loop) { await self.runRefresh() }
    }

    private func runRefresh() async {
        let result = await discovery.discover(from: nodes.discoveryCandidates(), sampleSize: nodes.configuration.topologySampleSize)
        var succeeded = false
        if !closed, let election = result.election, election.topology.coveredSlotCount > 0 {
            if nodes.adopt(election.topology) {
                nodes.core.events.topologyRefreshed(nodes: election.topology.nodes.count, reason: "refresh")
            }
            succeeded = true
        }
        completedRefreshes.add(1, ordering: .relaxed)
        refresh = nil
        guard !closed else { return }
        perform(machine.refreshFinished(now: loop.now(), succeeded: succeeded))
    }

    /// Stops: no more checks or refreshes; returns once a refresh that was running has ended.
    func close() async {
        if let running = beginClose() { await running.value }
    }

    /// `close()` without waiting, from a context that can't wait (the client's `deinit`).
    nonisolated func closeWithoutWaiting() {
        isClosed.store(true, ordering: .relaxed)
        loop.execute { self.assumeIsolated { _ = $0.beginClose() } }
    }

    private func beginClose() -> Task<Void, Never>? {
        closed = true
        isClosed.store(true, ordering: .relaxed)
        loop.cancelTimers(for: self)
        refresh?.cancel()
        return refresh
    }
}
