import Foundation
public import Glide

/// A standalone primary with replicas, all real valkey-server processes on free loopback ports:
/// what a standalone client with `readFrom` and failover is tested against. Its helpers change it
/// as an operator would: promote a replica, make a primary a replica.
public final class TestReplicaSet: @unchecked Sendable {
    /// The servers, the primary first (as started; roles change with `promote`).
    public let servers: [TestServer]
    private let admins: AdminConnections

    private init(servers: [TestServer], credentials: ServerCredentials?) {
        self.servers = servers
        admins = AdminConnections {
            $0.requestTimeout = TestTiming.bound(.seconds(10))
            $0.credentials = credentials
        }
    }

    deinit { stop() }

    /// Starts a primary and `replicas` replicas of it, each with `arguments` (and the zone of
    /// `zones[index]`, the primary's first, when given), and waits until every replica is in sync.
    /// With `password`, every server requires it (and the replicas use it to replicate).
    /// With `tls`, the servers are Debian's redis-server listening and replicating with TLS only.
    public static func start(
        replicas: Int, zones: [String]? = nil, password: String? = nil, tls: TestCertificates? = nil,
        _ extraArguments: [String] = []
    ) async throws -> TestReplicaSet {
        let arguments = extraArguments + (password.map { ["--requirepass", $0, "--masterauth", $0] } ?? [])
        func start(_ arguments: [String]) async throws -> TestServer {
            guard let tls else { return try await TestServer.startValkey(arguments) }
            return try await TestServer.startRedisTLS(tls, arguments + ["--tls-replication", "yes"])
        }
        // Zones are Valkey's (8.0 on); other servers' nodes have none.
        func zone(_ index: Int) -> [String] {
            guard ServerBinaries.mainServerHasZones else { return [] }
            return zones.map { ["--availability-zone", $0[index]] } ?? []
        }
        let primary = try await start(arguments + zone(0))
        var servers = [primary]
        for index in 0..<replicas {
            servers.append(try await start(arguments + zone(index + 1) + ["--replicaof", "127.0.0.1", String(primary.port)]))
        }
        let set = TestReplicaSet(servers: servers, credentials: password.map { ServerCredentials(password: $0) })
        for replica in servers.dropFirst() { try await set.waitUntilReplicating(replica, from: primary) }
        return set
    }

    /// The first server started.
    public var primary: TestServer { servers[0] }
    /// The servers started as replicas.
    public var replicas: [TestServer] { Array(servers.dropFirst()) }
    /// Every server's address, the first primary first: a client configuration's addresses.
    public var addresses: [NodeAddress] { servers.map(\.address) }

    /// Runs `arguments` on `server` over an admin connection of its own.
    @discardableResult
    public func command(_ server: TestServer, _ arguments: [String]) async throws -> RESPValue {
        try await admins.command(server, arguments)
    }

    /// `INFO section` of `server`, as text.
    public func info(_ server: TestServer, _ section: String) async throws -> String {
        try await command(server, ["INFO", section]).stringValue ?? ""
    }

    /// How many times `server` ran `command` (lower-case), from `INFO commandstats`.
    public func calls(of command: String, on server: TestServer) async throws -> Int {
        let stats = try await info(server, "commandstats")
        guard let line = stats.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):calls=") }) else { return 0 }
        return Int(line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }) ?? 0
    }

    /// Waits until `replica` replicates from `primary` with its link up.
    public func waitUntilReplicating(_ replica: TestServer, from primary: TestServer) async throws {
        try await Polling.waitUntil("\(replica.address) replicates \(primary.address)", timeout: .seconds(20)) {
            let replication = try await self.info(replica, "replication")
            return replication.contains("master_port:\(primary.port)") && replication.contains("master_link_status:up")
        }
    }

    /// A standalone failover done by hand: `REPLICAOF NO ONE` on `replica`, then every other
    /// server made its replica, the old primary last (`before` runs between the two steps).
    public func promote(_ replica: TestServer, before: @Sendable () async throws -> Void = {}) async throws {
        try await command(replica, ["REPLICAOF", "NO", "ONE"])
        try await before()
        for server in servers where server !== replica && server.pid != nil {
            try await command(server, ["REPLICAOF", "127.0.0.1", String(replica.port)])
        }
    }

    /// Stops every server.
    public func stop() {
        admins.closeAll()
        for server in servers { server.stop() }
    }
}
