import GlideTransport

/// A standalone client's part of supervision: its nodes' roles and zones, their connections,
/// and the routing table it publishes to the client.
struct RoleFollowing<Loop: EventLoop, Connector: StreamConnector>: Sendable {
    typealias Connection = NodeConnection<Loop, Connector>

    var topology: StandaloneTopology
    /// Aligned with `topology.nodes`.
    var connections: [Connection]
    let routing: StandaloneRouting<Connection>
    /// Whether replicas a primary lists are added (the client reads from replicas).
    let discoversReplicas: Bool
    /// Makes the connection of a node found through another, supervised by this supervisor; nil
    /// once the client is gone.
    let makeConnection: @Sendable (NodeAddress) -> Connection?
    /// Told when the primary's connection is lost (under Sentinel: ask the sentinels again).
    var primaryLost: (@Sendable () -> Void)? = nil
    /// The role check under way, which concurrent callers share.
    var check: Task<Void, Never>?

    /// Whether there is anything to check: more than one node, or replicas to find.
    var checksRoles: Bool { connections.count > 1 || discoversReplicas }
}

extension ConnectionSupervisor {
    /// Follows the roles of a standalone client's nodes from now on.
    func followRoles(_ following: RoleFollowing<Loop, Connector>) {
        roles = following
        publishRoutes()
    }

    /// A node's connection became ready: its handshake may say its role and zone. The nodes of a
    /// lazy client that never connected follow the first one that did.
    func connectionReady(_ connection: Connection, _ info: ConnectionInfo) {
        guard var roles, let index = roles.connections.firstIndex(where: { $0 === connection }) else { return }
        roles.topology.connected(index, role: info.role, zone: info.availabilityZone)
        self.roles = roles
        reelect()
        for other in roles.connections where other !== connection { other.connectIfIdle() }
    }

    /// A node's connection was lost or could not be opened. When it was the primary's, the other
    /// nodes are asked at once whether one was promoted (and again at each failed attempt), and
    /// writes wait for whichever comes first. Reads waiting for a replica's connection go back to
    /// their callers at once, to be read elsewhere.
    func connectionDown(_ connection: Connection) {
        guard var roles, let index = roles.connections.firstIndex(where: { $0 === connection }) else { return }
        let wasPrimary = index == roles.topology.primary
        roles.topology.lost(index)
        self.roles = roles
        reelect()
        if wasPrimary {
            checkRoles()
            roles.primaryLost?()
        } else {
            connection.failUnsent(GlideErrorSummary(.connectionFailed, "not sent: \(connection.address) can't be reached"))
        }
    }

    /// Starts a role check in the background, unless there is nothing to check.
    func checkRoles() {
        guard let roles, roles.checksRoles, !closed else { return }
        own { await self.checkRolesNow() }
    }

    /// Asks every reachable node for its `ROLE`, adds the nodes they name, elects the primary and
    /// publishes the routes. Callers during a check share it.
    func checkRolesNow() async {
        guard !closed, roles != nil else { return }
        if let running = roles?.check {
            await running.value
            return
        }
        let task = Task { await self.runRoleCheck() }
        roles?.check = task
        await task.value
    }

    private func runRoleCheck() async {
        defer { roles?.check = nil }
        guard let snapshot = roles else { return }
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
        guard !closed, var roles else { return }
        var named: [NodeAddress] = []
        for (index, report) in reports {
            guard let report, index < roles.connections.count else { continue }
            // A primary named by a replica is always followed; replicas only when read from.
            if case .primary = report, !roles.discoversReplicas {
                _ = roles.topology.roleReported(index, report)
                continue
            }
            named += roles.topology.roleReported(index, report)
        }
        self.roles = roles
        add(named)
        reelect()
    }

    /// The sentinels name `report.primary` as the primary, with `report.replicas`: nodes not
    /// known yet are connected, and the named primary takes writes unless it says it is a replica
    /// (`StandaloneTopology.elect()`).
    func primaryDeclared(_ report: SentinelReport) {
        guard !closed, roles != nil else { return }
        add([report.primary] + report.replicas)
        _ = roles?.topology.declare(report.primary)
        reelect()
    }

    /// Adds a node, its connection supervised and connecting now, for each of `addresses` not
    /// known yet.
    private func add(_ addresses: [NodeAddress]) {
        guard var roles else { return }
        var added: [Connection] = []
        for address in addresses where roles.topology.index(of: address) == nil {
            guard let connection = roles.makeConnection(address) else { return }
            _ = roles.topology.add(address)
            roles.connections.append(connection)
            added.append(connection)
        }
        self.roles = roles
        for connection in added {
            supervise(connection, connecting: true)
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
        guard var roles else { return }
        let previous = roles.topology.primary
        let moved = roles.topology.elect()
        self.roles = roles
        publishRoutes()
        if moved {
            let from = roles.topology.nodes[previous].address
            let to = roles.topology.nodes[roles.topology.primary].address
            roles.connections[previous].failUnsent(
                GlideErrorSummary(.connectionFailed, "not sent: the primary moved from \(from) to \(to)"))
        }
    }

    private func publishRoutes() {
        guard let roles else { return }
        roles.routing.update(roles.connections, roles.topology)
    }

    /// The current view of the nodes, for tests and diagnostics.
    var standaloneTopology: StandaloneTopology? { roles?.topology }
}
