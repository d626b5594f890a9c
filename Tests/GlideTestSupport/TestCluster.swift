import Foundation
public import Glide

/// A real cluster of valkey-server processes: primaries with replicas, built the way an operator
/// would (ADDSLOTSRANGE, MEET, REPLICATE), waited on until every node agrees.
///
/// Its helpers change it the way production does: migrate a slot, fail a primary over, kill a
/// node, add one. Stop it with `stop()`; its processes are also killed when the tests exit.
public final class TestCluster: @unchecked Sendable {
    /// One node: its server process, cluster bus port and node ID.
    public struct Node: Sendable, CustomStringConvertible {
        /// The process.
        public let server: TestServer
        /// The port of the cluster bus.
        public let busPort: Int
        /// The 40-character node ID.
        public let id: String

        /// Where clients connect.
        public var address: NodeAddress { server.address }
        /// `127.0.0.1:port`.
        public var description: String { address.description }
    }

    private let lock = NSLock()
    private var members: [Node]
    private let admins: AdminConnections
    /// The cluster-node-timeout, in milliseconds.
    public let nodeTimeout: Int
    /// The password every node requires, if any (admin connections and clients use it).
    public let credentials: ServerCredentials?
    /// The certificates of a TLS cluster (redis-server with `tls-cluster yes`), or `nil`.
    public let certificates: TestCertificates?

    /// Every node started, including killed ones.
    public var nodes: [Node] { lock.withLock { members } }

    /// Addresses to give a client as seeds: every node.
    public var seeds: [NodeAddress] { nodes.map(\.address) }

    private init(nodes: [Node], nodeTimeout: Int, credentials: ServerCredentials?, certificates: TestCertificates?) {
        self.members = nodes
        self.nodeTimeout = nodeTimeout
        self.credentials = credentials
        self.admins = AdminConnections { $0.credentials = credentials }
        self.certificates = certificates
    }

    deinit { stop() }

    // MARK: Building

    /// Starts `primaries` primaries with `replicasPerPrimary` replicas each and waits until every
    /// node agrees on the topology, every slot is served and every replica is in sync.
    ///
    /// `primaryZone` and `replicaZone` set the nodes' `availability-zone`, for AZ-affinity tests.
    /// `password` makes every node require it. `tls` builds the cluster of redis-server nodes
    /// that speak only TLS, to clients and on the cluster bus.
    public static func start(
        primaries: Int = 3, replicasPerPrimary: Int = 1, nodeTimeout: Int = 5000,
        primaryZone: String? = nil, replicaZone: String? = nil, password: String? = nil,
        tls certificates: TestCertificates? = nil,
        extraArguments: [String] = []
    ) async throws -> TestCluster {
        let count = primaries * (1 + replicasPerPrimary)
        let credentials = password.map { ServerCredentials(password: $0) }
        let passwordArguments = password.map { ["--requirepass", $0, "--masterauth", $0] } ?? []
        let started = try await withThrowingTaskGroup(of: (Int, Node).self) { group in
            for index in 0..<count {
                group.addTask {
                    (
                        index,
                        try await startNode(
                            nodeTimeout: nodeTimeout, credentials: credentials, certificates: certificates,
                            extraArguments: passwordArguments + extraArguments)
                    )
                }
            }
            var nodes: [(Int, Node)] = []
            for try await node in group { nodes.append(node) }
            return nodes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let cluster = TestCluster(nodes: started, nodeTimeout: nodeTimeout, credentials: credentials, certificates: certificates)
        do {
            // Zones are Valkey's (8.0 on); other servers' nodes have none, as their topology says.
            for (index, node) in started.enumerated() where ServerBinaries.mainServerHasZones {
                if let zone = index < primaries ? primaryZone : replicaZone {
                    _ = try await cluster.command(node, ["CONFIG", "SET", "availability-zone", zone])
                }
            }
            try await cluster.assemble(primaries: primaries, replicasPerPrimary: replicasPerPrimary)
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    static func startNode(
        nodeTimeout: Int, credentials: ServerCredentials?, certificates: TestCertificates?,
        extraArguments: [String]
    ) async throws -> Node {
        let arguments =
            [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", String(nodeTimeout), "--cluster-allow-replica-migration", "no",
                "--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0",
            ] + extraArguments
        // Redis 6's bus listens 10,000 above the node's port; later servers take a port of its own.
        let busPortOption = ServerBinaries.mainServerHasRedis7Cluster
        let freeBusPort = { busPortOption ? ["--cluster-port", String(try FreePort.find())] : [] }
        let server =
            if let certificates {
                try await TestServer.startRedisTLS(
                    certificates, ["--tls-cluster", "yes", "--tls-replication", "yes"] + arguments,
                    perAttempt: freeBusPort)
            } else {
                try await TestServer.startValkey(
                    arguments, perAttempt: freeBusPort, port: busPortOption ? FreePort.find : FreePort.findWithBusAbove)
            }
        let busPort = busPortOption ? Int(server.extraArguments.last ?? "") ?? 0 : server.port + 10_000
        let admin = try await server.client { $0.credentials = credentials }
        let id = try await admin.customCommand(["CLUSTER", "MYID"]).stringValue ?? ""
        await admin.close()
        return Node(server: server, busPort: busPort, id: id)
    }

    private func assemble(primaries: Int, replicasPerPrimary: Int) async throws {
        let all = nodes
        let primaryNodes = Array(all.prefix(primaries))
        for (index, node) in primaryNodes.enumerated() {
            let first = HashSlot.count * index / primaries
            let last = HashSlot.count * (index + 1) / primaries - 1
            if ServerBinaries.mainServerHasRedis7Cluster {
                _ = try await command(node, ["CLUSTER", "ADDSLOTSRANGE", String(first), String(last)])
            } else {
                _ = try await command(node, ["CLUSTER", "ADDSLOTS"] + (first...last).map(String.init))
            }
        }
        for node in all.dropFirst() {
            _ = try await command(all[0], meet(node))
        }
        try await waitUntil("every node knows every other") {
            for node in all {
                let known = try await self.command(node, ["CLUSTER", "NODES"]).stringValue ?? ""
                if known.split(separator: "\n").count != all.count { return false }
            }
            return true
        }
        for (index, replica) in all.dropFirst(primaries).enumerated() {
            let primary = primaryNodes[index % primaries]
            _ = try await command(replica, ["CLUSTER", "REPLICATE", primary.id])
        }
        try await waitUntilConsistent()
    }

    // MARK: Clients

    /// A cluster client configuration seeded with every node, with the given changes applied.
    public func configuration(_ change: (inout GlideClusterClientConfiguration) -> Void = { _ in }) -> GlideClusterClientConfiguration {
        var configuration = GlideClusterClientConfiguration(addresses: seeds).with {
            $0.requestTimeout = TestTiming.bound(.seconds(5))
            $0.connectionTimeout = TestTiming.bound(.seconds(2))
        }
        configuration.credentials = credentials
        if let certificates {
            configuration.useTLS = true
            configuration.tlsConfiguration = certificates.clientTLS
        }
        change(&configuration)
        return configuration
    }

    /// A connected cluster client with the given configuration changes.
    public func client(_ change: (inout GlideClusterClientConfiguration) -> Void = { _ in }) async throws -> GlideClusterClient {
        try await GlideClusterClient.create(configuration(change))
    }

    // MARK: Observing

    /// The topology as `node` reports it (`CLUSTER SHARDS`; `CLUSTER SLOTS` on Redis 6).
    public func topology(from node: Node) async throws -> ClusterTopology {
        guard ServerBinaries.mainServerHasRedis7Cluster else {
            return try ClusterTopology(slotsReply: try await command(node, ["CLUSTER", "SLOTS"]), queried: node.address)
        }
        return try ClusterTopology(
            shardsReply: try await command(node, ["CLUSTER", "SHARDS"]), queried: node.address,
            preferTLSPort: certificates != nil)
    }

    /// The live nodes.
    public var liveNodes: [Node] { nodes.filter { $0.server.pid != nil } }

    /// Waits until every live node reports the same topology, serving every slot with a primary
    /// whose replicas are all online, and `cluster_state:ok`.
    public func waitUntilConsistent(timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("the cluster is consistent", timeout: timeout) {
            var views: [ClusterTopology] = []
            for node in self.liveNodes {
                let info = try await self.command(node, ["CLUSTER", "INFO"]).stringValue ?? ""
                guard info.contains("cluster_state:ok") else { return false }
                views.append(try await self.topology(from: node))
            }
            guard let first = views.first, first.coversAllSlots else { return false }
            let healthy = first.nodes.allSatisfy { $0.health == .online }
            return healthy && views.allSatisfy { $0 == first }
        }
    }

    /// The node serving `slot` as primary.
    public func primary(forSlot slot: UInt16) async throws -> Node {
        let map = SlotMap(try await topology(from: liveNodes[0]))
        guard let address = map.primary(forSlot: slot), let node = nodes.first(where: { $0.address == address }) else {
            throw ServerStartFailure("no primary serves slot \(slot)")
        }
        return node
    }

    /// The primaries, in slot order.
    public func primaries() async throws -> [Node] {
        try await topology(from: liveNodes[0]).shards.compactMap { shard in nodes.first { $0.address == shard.primary?.address } }
    }

    /// The replicas of `primary`.
    public func replicas(of primary: Node) async throws -> [Node] {
        let topology = try await topology(from: liveNodes[0])
        let shard = topology.shards.first { $0.primary?.address == primary.address }
        return (shard?.replicas ?? []).compactMap { replica in nodes.first { $0.address == replica.address } }
    }

    /// Writes `key` through `client`, waits until a replica has it, and returns the shard's
    /// primary and that replica.
    public func writeReplicated(_ key: String, _ value: String, with client: GlideClusterClient) async throws
        -> (primary: Node, replica: Node)
    {
        try await client.set(key, value)
        let primary = try await primary(forSlot: HashSlot.of(key))
        guard let replica = try await replicas(of: primary).first else { throw ClusterShapeError("\(primary) has no replica") }
        _ = try await client.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(key), .primary))
        return (primary, replica)
    }

    /// The calls of `command` (as `INFO commandstats` names it: `get`, `cluster|shards`) `node`
    /// has served since it started.
    public func calls(of command: String, on node: Node) async throws -> Int {
        let stats = try await self.command(node, ["INFO", "commandstats"]).stringValue ?? ""
        guard let line = stats.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) })
        else { return 0 }
        return calls
    }

    // MARK: Changing

    /// Starts moving `slot` to `target` (`SETSLOT IMPORTING` on the target, `MIGRATING` on the
    /// owner) and moves the keys listed in `keys` now; others stay behind, so requests for them
    /// meet `ASK`. Returns the former owner.
    @discardableResult
    public func beginMigration(slot: UInt16, to target: Node, moving keys: [String] = []) async throws -> Node {
        let source = try await primary(forSlot: slot)
        _ = try await command(target, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id])
        _ = try await command(source, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id])
        if !keys.isEmpty {
            _ = try await command(source, ["MIGRATE", "127.0.0.1", String(target.address.port), "", "0", "5000", "KEYS"] + keys)
        }
        return source
    }

    /// Moves every remaining key of `slot` from `source` to `target` and gives the slot to
    /// `target` on every node.
    public func finishMigration(slot: UInt16, from source: Node, to target: Node) async throws {
        try await moveKeys(of: slot, from: source, to: target)
        await give(slot, to: target, from: source)
        do {
            try await waitUntilEveryNode(says: target, serves: slot, "slot \(slot) belongs to \(target)")
        } catch {
            throw ClusterShapeError("\(error); each node's view: \(await slotViews(slot))\n" + (await diagnostics()))
        }
    }

    /// Waits until every live node says `target` serves `slot`.
    private func waitUntilEveryNode(says target: Node, serves slot: UInt16, _ what: String) async throws {
        try await waitUntil(what) {
            for node in self.liveNodes where try await SlotMap(self.topology(from: node)).primary(forSlot: slot) != target.address {
                return false
            }
            return true
        }
    }

    /// What each live node says of `slot`'s owner, and its own config epoch: what a slot that
    /// won't settle leaves to read.
    private func slotViews(_ slot: UInt16) async -> String {
        var views: [String] = []
        for node in liveNodes {
            let owner = (try? await topology(from: node)).flatMap { SlotMap($0).primary(forSlot: slot) }
            let nodes = (try? await command(node, ["CLUSTER", "NODES"]).stringValue) ?? ""
            let epoch = nodes.split(separator: "\n").first { $0.contains("myself") }?.split(separator: " ").dropFirst(6).first
            views.append("\(node.address.port) (epoch \(epoch.map(String.init) ?? "?")): \(owner.map { String($0.port) } ?? "none")")
        }
        return views.joined(separator: ", ")
    }

    /// Moves every key of `slot` still on `source` to `target`, in batches.
    private func moveKeys(of slot: UInt16, from source: Node, to target: Node) async throws {
        while true {
            let keys =
                try await command(source, ["CLUSTER", "GETKEYSINSLOT", String(slot), "100"]).arrayValue?
                .compactMap(\.stringValue) ?? []
            if keys.isEmpty { break }
            _ = try await command(source, ["MIGRATE", "127.0.0.1", String(target.address.port), "", "0", "5000", "KEYS"] + keys)
        }
    }

    /// Gives `slot` to `target` on every node: the target first, then the source, as the reshard
    /// tool does, so there is no moment where neither serves it.
    private func give(_ slot: UInt16, to target: Node, from source: Node) async {
        for node in [target, source] + liveNodes.filter({ $0.id != target.id && $0.id != source.id }) {
            _ = try? await command(node, ["CLUSTER", "SETSLOT", String(slot), "NODE", target.id])
        }
    }

    /// Moves `slot`, with its keys, to `target`.
    public func migrateSlot(_ slot: UInt16, to target: Node) async throws {
        let source = try await beginMigration(slot: slot, to: target)
        try await finishMigration(slot: slot, from: source, to: target)
    }

    /// Moves `slot` to `target` with Valkey 9's atomic slot migration (`CLUSTER MIGRATESLOTS` on
    /// its owner, which moves the keys and the ownership in one job) and waits until every node
    /// says `target` serves it.
    public func migrateSlotAtomically(_ slot: UInt16, to target: Node) async throws {
        let source = try await primary(forSlot: slot)
        guard source.id != target.id else { return }
        _ = try await command(source, ["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", String(slot), String(slot), "NODE", target.id])
        do {
            try await waitUntilEveryNode(says: target, serves: slot, "slot \(slot) belongs to \(target) after its atomic migration")
        } catch {
            // What the source and the target say of the job, for the failure's message.
            let sourceJobs = (try? await command(source, ["CLUSTER", "GETSLOTMIGRATIONS"]))?.description ?? "?"
            let targetJobs = (try? await command(target, ["CLUSTER", "GETSLOTMIGRATIONS"]))?.description ?? "?"
            throw ClusterShapeError(
                "\(error); the source's migrations: \(sourceJobs); the target's: \(targetJobs)\n" + (await diagnostics()))
        }
    }

    /// Waits until every live replica's link to its primary is up and no sync is in progress:
    /// before a primary may be killed again, its replica must hold what it acknowledged.
    public func waitUntilReplicated(timeout: Duration = .seconds(30)) async throws {
        do {
            try await waitUntil("every replica is in sync", timeout: timeout) {
                for node in self.liveNodes {
                    let info = try await self.command(node, ["INFO", "replication"]).stringValue ?? ""
                    guard info.contains("role:slave") else { continue }
                    guard info.contains("master_link_status:up"), info.contains("master_sync_in_progress:0") else { return false }
                }
                return true
            }
        } catch {
            throw ClusterShapeError("\(error)\n" + (await diagnostics()))
        }
    }

    /// Each live node's replication and fork state and the last lines of its log about syncs,
    /// children and migrations: what a failure to settle leaves to read.
    func diagnostics() async -> String {
        var report: [String] = []
        for node in liveNodes {
            let replication = (try? await command(node, ["INFO", "replication"]))?.stringValue ?? "?"
            let persistence = (try? await command(node, ["INFO", "persistence"]))?.stringValue ?? "?"
            let fields = (replication + persistence).split(whereSeparator: \.isNewline).filter {
                ["role:", "master_link_status", "master_sync_in_progress", "connected_slaves", "slave0", "_in_progress:1", "current_fork"]
                    .contains(where: $0.contains)
            }
            let log = node.server.log().split(separator: "\n").filter {
                ["ync", "hild", "igrat", "napshot", "fork", "MASTER", "REPLICA"].contains(where: $0.contains)
            }.suffix(10)
            report.append(
                "== \(node) \(node.id.prefix(8)) (\(node.server.processState)): " + fields.joined(separator: ", ") + "\n"
                    + log.joined(separator: "\n"))
        }
        return report.joined(separator: "\n")
    }

    /// Has `replica` take over from its primary with `CLUSTER FAILOVER` (coordinated, no data
    /// lost) and waits until every node agrees.
    public func failover(to replica: Node) async throws {
        _ = try await command(replica, ["CLUSTER", "FAILOVER"])
        try await waitUntil("\(replica) is a primary") {
            let role = try await self.command(replica, ["ROLE"]).arrayValue?.first?.stringValue
            return role == "master"
        }
        try await waitUntilConsistent()
    }

    /// Kills `node` (SIGKILL), as a crash would.
    public func kill(_ node: Node) async {
        admins.forget(node.server)
        await node.server.kill()
    }

    /// Starts a killed `node` again on its port and directory: it rejoins with its node ID, its
    /// `nodes.conf` kept (its data is not: nothing is persisted).
    public func restart(_ node: Node) async throws {
        try await node.server.restart()
    }

    /// Moves every slot of `slots` to `target`, as `--cluster reshard` does, one slot at a time:
    /// IMPORTING and MIGRATING, the keys moved in batches, then the slot given to `target` on
    /// every node. Waits once, at the end, until every node agrees.
    public func reshard(_ slots: some Sequence<UInt16>, to target: Node) async throws {
        let map = SlotMap(try await topology(from: target))
        for slot in slots {
            guard let owner = map.primary(forSlot: slot), owner != target.address,
                let source = nodes.first(where: { $0.address == owner })
            else { continue }
            _ = try await command(target, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id])
            _ = try await command(source, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id])
            try await moveKeys(of: slot, from: source, to: target)
            await give(slot, to: target, from: source)
        }
        try await waitUntilConsistent()
    }

    /// Waits until a replica of the killed `primary` has taken over its slots.
    public func waitForFailover(of primary: Node, timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("a replica replaces \(primary)", timeout: timeout) {
            let topology = try await self.topology(from: self.liveNodes[0])
            return topology.coversAllSlots && !topology.shards.contains { $0.primary?.address == primary.address }
                && topology.shards.allSatisfy { $0.primary?.health == .online }
        }
    }

    /// Starts a new node and has it join the cluster as a primary without slots.
    public func addNode() async throws -> Node {
        let password = credentials.map { ["--requirepass", $0.password, "--masterauth", $0.password] } ?? []
        let node = try await Self.startNode(
            nodeTimeout: nodeTimeout, credentials: credentials, certificates: certificates,
            extraArguments: password)
        let existing = liveNodes
        lock.withLock { members.append(node) }
        _ = try await command(existing[0], meet(node))
        // And the newcomer knows every node: a `SETSLOT … NODE` it is sent names one of them. It
        // must also say the cluster is up: a primary that just started answers `CLUSTERDOWN`
        // until it has seen every slot served and its writable delay (2 s on Redis 7) has passed.
        try await waitUntil("every node knows \(node), and it knows every node and says the cluster is up") {
            let ids = self.liveNodes.map(\.id)
            for member in self.liveNodes {
                let known = try await self.command(member, ["CLUSTER", "NODES"]).stringValue ?? ""
                if !ids.allSatisfy({ known.contains($0) }) { return false }
            }
            return (try await self.command(node, ["CLUSTER", "INFO"]).stringValue ?? "").contains("cluster_state:ok")
        }
        return node
    }

    /// `CLUSTER MEET` for `node`, naming its bus port where the server takes one (Redis 7 on).
    private func meet(_ node: Node) -> [String] {
        let bus = ServerBinaries.mainServerHasRedis7Cluster ? [String(node.busPort)] : []
        return ["CLUSTER", "MEET", "127.0.0.1", String(node.address.port)] + bus
    }

    /// Stops every node and removes their directories.
    public func stop() {
        let all = lock.withLock { members }
        admins.closeAll()
        for node in all { node.server.stop() }
    }

    // MARK: Helpers

    /// The version of the cluster's servers (the first live node's).
    public func serverVersion() async throws -> ServerVersion {
        let info = try await command(liveNodes[0], ["INFO", "server"]).stringValue ?? ""
        let lines = info.split(whereSeparator: \.isNewline)
        for field in ["valkey_version:", "redis_version:"] {
            if let line = lines.first(where: { $0.hasPrefix(field) }) { return ServerVersion(String(line.dropFirst(field.count))) }
        }
        return ServerVersion("0")
    }

    /// Sends `arguments` to `node` over an admin connection of its own.
    @discardableResult
    public func command(_ node: Node, _ arguments: [String]) async throws -> RESPValue {
        try await admins.command(node.server, arguments)
    }

    /// Polls `condition` every 50 ms until it holds, failing after `timeout`.
    public func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
        try await Polling.waitUntil(what, timeout: timeout, condition)
    }
}

/// One 3-primary, 3-replica cluster shared by the tests that don't change its shape. Primaries
/// are in availability zone `zone-p`, replicas in `zone-r`.
public enum SharedCluster {
    // Several databases where the server has them (Valkey 9), so a test can count keys in one
    // that no other test writes.
    private static let cluster = Task {
        try await TestCluster.start(
            primaryZone: "zone-p", replicaZone: "zone-r",
            extraArguments: ServerBinaries.mainServerHasClusterDatabases ? ["--cluster-databases", "16"] : [])
    }

    /// The shared cluster, started on first use.
    public static func valkey() async throws -> TestCluster { try await cluster.value }
}

/// A cluster without the shape a helper needs (a shard without a replica).
public struct ClusterShapeError: Error, CustomStringConvertible {
    /// What is missing.
    public let description: String
    init(_ description: String) { self.description = description }
}
