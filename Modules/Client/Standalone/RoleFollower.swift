import GlideConnection
import GlideTransport

/// A standalone client's part of supervision: its nodes' roles and zones, their connections,
/// and the routing table it publishes to the client.
///
/// It runs on the client's loop, as the supervisor does (`unownedExecutor`), and the supervisor
/// tells it of every connection event after acting on it (`SupervisionFollower`): the loop's
/// callbacks reach it without a thread switch. Its background work runs as the supervisor's
/// tasks, which the supervisor's `close()` ends.
actor RoleFollower<Loop: EventLoop, Connector: StreamConnector>: SupervisionFollower {
    typealias Connection = NodeConnection<Loop, Connector>
    typealias Supervisor = ConnectionSupervisor<Loop, Connector>

    nonisolated let loop: Loop
    /// Runs on the client's loop, with the supervisor.
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.actorExecutor }
    /// Weak: the supervisor holds its follower.
    private weak var supervisor: Supervisor?
    /// How long a role check waits for each node's reply.
    private let checkTimeout: Duration

    var topology: StandaloneTopology
    /// Aligned with `topology.nodes`.
    var connections: [Connection]
    let routing: StandaloneRouting<Connection>
    /// Whether replicas a primary lists are added (the client reads from replicas).
    let discoversReplicas: Bool
    /// Makes the connection of a node found through another, supervised by the supervisor; nil
    /// once the client is gone.
    let makeConnection: @Sendable (NodeAddress) -> Connection?
    /// Told when the primary's connection is lost (under Sentinel: ask the sentinels again).
    private var primaryLost: (@Sendable () -> Void)?
    /// The role check under way, which concurrent callers share.
    private var check: Task<Void, Never>?
    private var closed = false
    /// Where a failover is reported.
    private let events: ClientEvents

    init(
        supervisor: Supervisor, topology: StandaloneTopology, connections: [Connection], routing: StandaloneRouting<Connection>,
        discoversReplicas: Bool, events: ClientEvents = ClientEvents(observer: nil),
        makeConnection: @escaping @Sendable (NodeAddress) -> Connection?
    ) {
        self.events = events
        self.loop = supervisor.loop
        self.supervisor = supervisor
        self.checkTimeout = supervisor.checkTimeout
        self.topology = topology
        self.connections = connections
        self.routing = routing
        self.discoversReplicas = discoversReplicas
        self.makeConnection = makeConnection
    }

    /// Whether there is anything to check: more than one node, or replicas to find.
    var checksRoles: Bool { connections.count > 1 || discoversReplicas }

    /// Starts following: publishes the routes, and from now on learns the supervisor's events.
    /// `primaryLost` is told when the primary's connection is lost.
    func start(primaryLost: (@Sendable () -> Void)?) async {
        self.primaryLost = primaryLost
        publishRoutes()
        await supervisor?.follow(with: self)
    }

    // MARK: SupervisionFollower (the loop thread, in the supervisor's turn)

    nonisolated func connectionChanged(_ connection: Connection, _ event: ConnectionEvent) {
        assumeIsolated { follower in
            switch event {
            case .ready(let info): follower.connectionReady(connection, info)
            case .lost, .attemptFailed: follower.connectionDown(connection)
            }
        }
    }

    nonisolated func periodicCheck() {
        assumeIsolated { $0.checkRoles() }
    }

    nonisolated func supervisorClosed() {
        assumeIsolated { follower in
            follower.closed = true
            for connection in follower.connections { connection.close() }
            follower.check?.cancel()
        }
    }

    /// A node's connection became ready: its handshake may say its role and zone. The nodes of a
    /// lazy client that never connected follow the first one that did.
    func connectionReady(_ connection: Connection, _ info: ConnectionInfo) {
        guard let index = connections.firstIndex(where: { $0 === connection }) else { return }
        topology.connected(index, role: info.role, zone: info.availabilityZone)
        reelect()
        for other in connections where other !== connection { other.connectIfIdle() }
    }

    /// A node's connection was lost or could not be opened. When it was the primary's, the other
    /// nodes are asked at once whether one was promoted (and again at each failed attempt), and
    /// writes wait for whichever comes first. Reads waiting for a replica's connection go back to
    /// their callers at once, to be read elsewhere.
    func connectionDown(_ connection: Connection) {
        guard let index = connections.firstIndex(where: { $0 === connection }) else { return }
        let wasPrimary = index == topology.primary
        topology.lost(index)
        reelect()
        if wasPrimary {
            checkRoles()
            primaryLost?()
        } else {
            connection.failUnsent(GlideErrorSummary(.connectionFailed, "not sent: \(connection.address) can't be reached"))
        }
    }

    /// Starts a role check in the background, as the supervisor's task, unless there is nothing
    /// to check.
    func checkRoles() {
        guard checksRoles, !closed else { return }
        _ = supervisor?.assumeIsolated { $0.own { await self.checkRolesNow() } }
    }

    /// Asks every reachable node for its `ROLE`, adds the nodes they name, elects the primary and
    /// publishes the routes. Callers during a check share it; it runs as the supervisor's task.
    func checkRolesNow() async {
        guard !closed else { return }
        if let running = check {
            await running.value
            return
        }
        guard let task = startRoleCheck() else { return }
        check = task
        await task.value
    }

    /// Starts a role check as the supervisor's task, whose `close()` cancels it and waits for it.
    /// Synchronous, so no other caller starts one in between: both actors run on the loop.
    private func startRoleCheck() -> Task<Void, Never>? {
        supervisor?.assumeIsolated { $0.own { await self.runRoleCheck() } } ?? nil
    }

    private func runRoleCheck() async {
        defer { check = nil }
        let snapshot = (topology: topology, connections: connections)
        let deadline = loop.now() + checkTimeout
        let targets = snapshot.connections.indices.filter { snapshot.topology.nodes[$0].reachable }
        let reports = await withTaskGroup(of: (Int, RoleReport?).self) { group in
            for index in targets {
                let connection = snapshot.connections[index]
                group.addTask { (index, await Self.role(of: connection, deadline: deadline)) }
            }
            var reports: [(Int, RoleReport?)] = []
            for await report in group { reports.append(report) }
            return reports
        }
        guard !closed else { return }
        var named: [NodeAddress] = []
        for (index, report) in reports {
            guard let report, index < connections.count else { continue }
            // A primary named by a replica is always followed; replicas only when read from.
            if case .primary = report, !discoversReplicas {
                _ = topology.roleReported(index, report)
                continue
            }
            named += topology.roleReported(index, report)
        }
        add(named)
        reelect()
    }

    /// The sentinels name `report.primary` as the primary, with `report.replicas`: nodes not
    /// known yet are connected, and the named primary takes writes unless it says it is a replica
    /// (`StandaloneTopology.elect()`).
    func primaryDeclared(_ report: SentinelReport) {
        guard !closed else { return }
        add([report.primary] + report.replicas)
        _ = topology.declare(report.primary)
        reelect()
    }

    /// Adds a node, its connection supervised and connecting now, for each of `addresses` not
    /// known yet.
    private func add(_ addresses: [NodeAddress]) {
        var added: [Connection] = []
        for address in addresses where topology.index(of: address) == nil {
            guard let connection = makeConnection(address) else { return }
            _ = topology.add(address)
            connections.append(connection)
            added.append(connection)
        }
        guard let supervisor else { return }
        for connection in added {
            supervisor.assumeIsolated { $0.supervise(connection, connecting: true) }
            connection.connectNow()
        }
    }

    /// A node's `ROLE`, or `nil` when it can't say (no reply, no permission).
    private static func role(of connection: Connection, deadline: Deadline) async -> RoleReport? {
        guard case .success(let reply) = await connection.send(deadline: deadline, encode: { $0.writeRESPCommand("ROLE" as StaticString) }),
            !reply.token.type.isError
        else { return nil }
        return RoleReport(reply.token)
    }

    /// Elects the primary and publishes the routes. When the primary moved, requests still
    /// waiting for the old primary's connection fail as not sent, so their callers send them to
    /// the new one.
    private func reelect() {
        let previous = topology.primary
        let moved = topology.elect()
        publishRoutes()
        if moved {
            let from = topology.nodes[previous].address
            let to = topology.nodes[topology.primary].address
            connections[previous].failUnsent(
                GlideErrorSummary(.connectionFailed, "not sent: the primary moved from \(from) to \(to)"))
            events.failover(from: from, to: to)
        }
    }

    private func publishRoutes() {
        routing.update(connections, topology)
    }
}
