import GlideTopology
import GlideTransport
import Synchronization

/// A node's answer to a topology question: the reply, or the server's error message.
enum NodeAnswer {
    case success(RESPValue)
    case failure(String)
}

/// Asks nodes for their view of the cluster over the client's own connections (`CLUSTER
/// SHARDS`, or `CLUSTER SLOTS` for servers before 7.0), remembering why nodes failed so the
/// client can say it.
final class ConnectionDiscovery: NodeDiscovery {
    let nodes: ClusterNodes
    /// The last failure of each node, as the client's error.
    let failures = Lock<[NodeAddress: GlideError]>([:])

    init(nodes: ClusterNodes) {
        self.nodes = nodes
    }

    func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
        let configuration = nodes.configuration
        // A seed not yet in the map gets a connection for this question only.
        let known = nodes.connection(to: address)
        let connection = known ?? nodes.core.makeUnsupervisedConnection(address)
        defer { if known == nil { connection.close() } }
        do throws(GlideError) {
            // The connect's own outcome (refused, timed out, TLS, credentials) first, bounded by
            // the connection timeout; then the question, bounded by the request timeout.
            if case .failure(let error) = await connection.connect() { throw error }
            let deadline = Deadline.now() + max(configuration.requestTimeout, .seconds(1))
            var reply = try await ask(connection, address, ["CLUSTER", "SHARDS"], deadline: deadline)
            if case .failure(let message) = reply, message.contains("unknown") {
                reply = try await ask(connection, address, ["CLUSTER", "SLOTS"], deadline: deadline)
                return try topology(reply, address: address, shards: false)
            }
            return try topology(reply, address: address, shards: true)
        } catch {
            failures.withLock { $0[address] = error }
            throw TopologyError("\(address): \(error.message)")
        }
    }

    private func ask(_ connection: ClusterNodes.Connection, _ address: NodeAddress, _ command: [StaticString],
                     deadline: Deadline) async throws(GlideError) -> NodeAnswer {
        switch await connection.send(deadline: deadline, encode: { $0.writeRESPCommand(command) }) {
        case .failure(let error):
            throw error
        case .success(let reply):
            if reply.token.type.isError { return .failure(reply.token.stringBytes?.string ?? "") }
            return .success(RESPValue(reply.token))
        }
    }

    private func topology(_ reply: NodeAnswer, address: NodeAddress, shards: Bool) throws(GlideError) -> ClusterTopology {
        switch reply {
        case .failure(let message):
            let code: GlideError.Code = message.contains("cluster support disabled") ? .configuration
                : message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") ? .authenticationFailed : .server
            throw GlideError(code, message.contains("cluster support disabled")
                             ? "\(address) is not a cluster node (cluster support is disabled)" : message, address: address.description)
        case .success(let value):
            do throws(TopologyError) {
                return shards
                    ? try ClusterTopology(shardsReply: value, queried: address, preferTLSPort: nodes.configuration.useTLS)
                    : try ClusterTopology(slotsReply: value, queried: address)
            } catch {
                throw GlideError(.protocolError, error.message, address: address.description)
            }
        }
    }

    /// The most telling failure among `addresses`: credentials and configuration before
    /// unreachable nodes.
    func mostTellingFailure(_ addresses: [NodeAddress]) -> GlideError? {
        let errors = failures.withLock { failures in addresses.compactMap { failures[$0] } }
        let rank: (GlideError) -> Int = { error in
            switch error.code {
            case .authenticationFailed: 0
            case .configuration: 1
            case .server, .protocolError: 2
            default: 3
            }
        }
        return errors.min { rank($0) < rank($1) }
    }
}

/// Keeps the topology current: the periodic check, refreshes asked for by redirections, and the
/// rate limit between them, as `TopologyRefreshStateMachine` decides. Its timer runs on the
/// client's event loop.
final class TopologyRefresher: EventHandler, @unchecked Sendable {
    let nodes: ClusterNodes
    let discovery: ConnectionDiscovery
    let loop: EpollEventLoop
    let machine: Lock<TopologyRefreshStateMachine<Deadline>>
    private let closed = Atomic<Bool>(false)
    /// Refreshes completed, successful or not (for tests and statistics).
    let completedRefreshes = Atomic<Int>(0)

    init(nodes: ClusterNodes, discovery: ConnectionDiscovery) {
        self.nodes = nodes
        self.discovery = discovery
        self.loop = nodes.core.loop
        self.machine = Lock(TopologyRefreshStateMachine(policy: nodes.configuration.topologyRefresh))
    }

    /// Asks the seeds, and adopts the elected view; throws the most telling failure when no
    /// node gave one.
    func discoverFromSeeds() async throws(GlideError) {
        let seeds = nodes.configuration.addresses
        let result = await discovery.discover(from: seeds, sampleSize: max(nodes.configuration.topologySampleSize, seeds.count))
        guard let election = result.election else {
            if let failure = discovery.mostTellingFailure(seeds) {
                throw GlideError(failure.code, "no seed node gave the cluster topology: \(failure.message)",
                                 serverCode: failure.serverCode, address: failure.address, transportError: failure.transportError)
            }
            throw GlideError(.connectionFailed, "no seed node gave the cluster topology")
        }
        guard election.topology.coveredSlotCount > 0 else {
            throw GlideError(.configuration, "the cluster serves no slots yet: \(seeds.map(\.description).joined(separator: ", "))")
        }
        nodes.adopt(election.topology)
        perform(machine.withLock { $0.start(now: loop.now()) })
    }

    /// Something suggests the topology changed.
    func requestRefresh() {
        guard !closed.load(ordering: .relaxed) else { return }
        perform(machine.withLock { $0.refreshRequested(now: loop.now()) })
    }

    func timerFired(now: Deadline) {
        guard !closed.load(ordering: .relaxed) else { return }
        perform(machine.withLock { $0.timerFired(now: now) })
    }

    func readable() {}
    func writable() {}

    /// Stops refreshing, and drops the timers that would keep it alive.
    func close() {
        closed.store(true, ordering: .relaxed)
        loop.cancelTimers(for: self)
    }

    private func perform(_ action: TopologyRefreshStateMachine<Deadline>.Action) {
        if let wakeUp = action.wakeUp { loop.scheduleTimer(at: wakeUp, handler: self) }
        guard action.startRefresh else { return }
        // A task of the supervisor's, so closing the client ends it.
        let supervisor = nodes.core.supervisor
        loop.execute {
            supervisor.assumeIsolated { $0.own { await self.refresh() } }
        }
    }

    private func refresh() async {
        let candidates = nodes.discoveryCandidates()
        let result = await discovery.discover(from: candidates, sampleSize: nodes.configuration.topologySampleSize)
        var succeeded = false
        if let election = result.election, election.topology.coveredSlotCount > 0, !closed.load(ordering: .relaxed) {
            nodes.adopt(election.topology)
            succeeded = true
        }
        completedRefreshes.add(1, ordering: .relaxed)
        guard !closed.load(ordering: .relaxed) else { return }
        perform(machine.withLock { $0.refreshFinished(now: loop.now(), succeeded: succeeded) })
    }
}
