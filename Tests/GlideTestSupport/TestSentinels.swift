import Foundation
public import Glide

/// A primary with replicas watched by real sentinels (`valkey-server --sentinel`), all on free
/// loopback ports: what a client built from a `SentinelConfiguration` is tested against. Its
/// helpers act as an operator would: ask a sentinel, force a failover, kill a sentinel.
///
/// `@unchecked Sendable`: every stored property is immutable; the servers and the admin
/// connections guard their own state.
public final class TestSentinels: @unchecked Sendable {
    /// The data nodes.
    public let nodes: TestReplicaSet
    /// The sentinels, in the order a client is given them.
    public let sentinels: [TestServer]
    /// The name they monitor the primary under.
    public let primaryName: String
    /// The sentinels' own password, when they require one.
    public let sentinelPassword: String?
    private let admins: AdminConnections

    private init(nodes: TestReplicaSet, sentinels: [TestServer], primaryName: String, sentinelPassword: String?) {
        self.nodes = nodes
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.sentinelPassword = sentinelPassword
        admins = AdminConnections {
            $0.requestTimeout = TestTiming.bound(.seconds(10))
            $0.credentials = sentinelPassword.map { ServerCredentials(password: $0) }
        }
    }

    deinit { stop() }

    /// Starts a primary with `replicas` replicas and `count` sentinels (quorum 2), and waits until
    /// every sentinel sees every replica in sync and knows the other sentinels: a forced failover
    /// then has a replica to promote, and every sentinel learns of it. `password` protects the
    /// data nodes, `sentinelPassword` the sentinels. With `tls`, every node and sentinel is
    /// Debian's Redis 7 speaking TLS only (and its sentinels know only the `MASTER` spellings).
    public static func start(
        replicas: Int = 1, sentinels count: Int = 3, primaryName: String = "glide-primary",
        password: String? = nil, sentinelPassword: String? = nil,
        tls: TestCertificates? = nil
    ) async throws -> TestSentinels {
        let nodes = try await TestReplicaSet.start(replicas: replicas, password: password, tls: tls)
        var lines = [
            "sentinel monitor \(primaryName) 127.0.0.1 \(nodes.primary.port) 2",
            // Long enough that a busy machine never makes a sentinel fail the primary over on its own.
            "sentinel down-after-milliseconds \(primaryName) 30000",
            "sentinel failover-timeout \(primaryName) 60000",
        ]
        if let password { lines.append("sentinel auth-pass \(primaryName) \(password)") }
        if let sentinelPassword { lines.append("requirepass \(sentinelPassword)") }
        var started: [TestServer] = []
        do {
            for _ in 0..<count {
                if let tls {
                    started.append(try await TestServer.startRedisTLSSentinel(tls, lines))
                } else {
                    started.append(try await TestServer.startSentinel(lines))
                }
            }
        } catch {
            for sentinel in started { sentinel.stop() }
            nodes.stop()
            throw error
        }
        let set = TestSentinels(nodes: nodes, sentinels: started, primaryName: primaryName, sentinelPassword: sentinelPassword)
        for sentinel in started { try await set.waitUntilReady(sentinel, replicas: replicas, others: count - 1) }
        return set
    }

    /// Runs `arguments` on `sentinel`.
    @discardableResult
    public func command(_ sentinel: TestServer, _ arguments: [String]) async throws -> RESPValue {
        try await admins.command(sentinel, arguments)
    }

    /// The port of the primary `sentinel` names.
    public func primaryPort(according sentinel: TestServer) async throws -> Int? {
        let reply = try await command(sentinel, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", primaryName])
        guard case .array(let fields) = reply, fields.count == 2 else { return nil }
        return fields[1].stringValue.flatMap { Int($0) }
    }

    /// Forces a failover through `sentinel` (`SENTINEL FAILOVER`), `COORDINATED` when asked: the
    /// primary then pauses writes, waits for the replica and demotes itself before the replica
    /// takes over, so no acknowledged write can be lost.
    public func failover(through sentinel: TestServer, coordinated: Bool) async throws {
        try await command(sentinel, ["SENTINEL", "FAILOVER", primaryName] + (coordinated ? ["COORDINATED"] : []))
    }

    /// Kills `sentinel` (SIGKILL).
    public func kill(_ sentinel: TestServer) async {
        admins.forget(sentinel)
        await sentinel.kill()
    }

    /// A client configuration that finds the nodes through the sentinels.
    public func configuration(_ change: (inout GlideClientConfiguration) -> Void = { _ in }) -> GlideClientConfiguration {
        var configuration = GlideClientConfiguration().with {
            $0.requestTimeout = TestTiming.bound(.seconds(5))
            $0.connectionTimeout = TestTiming.bound(.seconds(2))
        }
        if sentinels.first?.usesTLS == true, let certificates = TestCertificates.made {
            configuration.useTLS = true
            configuration.tlsConfiguration = certificates.clientTLS
        }
        configuration.sentinel = SentinelConfiguration(
            sentinels: sentinels.map(\.address), primaryName: primaryName,
            credentials: sentinelPassword.map { ServerCredentials(password: $0) })
        change(&configuration)
        return configuration
    }

    /// Waits until `sentinel` sees `replicas` replicas in sync and `others` other sentinels.
    private func waitUntilReady(_ sentinel: TestServer, replicas: Int, others: Int) async throws {
        try await Polling.waitUntil("sentinel \(sentinel.port) sees \(replicas) replicas and \(others) sentinels", timeout: .seconds(30)) {
            let listed = try await self.entries(self.command(sentinel, ["SENTINEL", "REPLICAS", self.primaryName]))
            let ready = listed.filter { $0["flags"] == "slave" && $0["master-link-status"] == "ok" }
            let peers = try await self.entries(self.command(sentinel, ["SENTINEL", "SENTINELS", self.primaryName]))
            return ready.count == replicas && peers.count == others
        }
    }

    /// A `SENTINEL REPLICAS`/`SENTINELS` reply as dictionaries of text.
    private func entries(_ reply: RESPValue) -> [[String: String]] {
        guard case .array(let entries) = reply else { return [] }
        return entries.map { entry in
            var fields: [String: String] = [:]
            switch entry {
            case .map(let pairs):
                for pair in pairs { if let key = pair.key.stringValue { fields[key] = pair.value.stringValue } }
            case .array(let flat):
                for index in stride(from: 0, to: flat.count - 1, by: 2) {
                    if let key = flat[index].stringValue { fields[key] = flat[index + 1].stringValue }
                }
            default:
                break
            }
            return fields
        }
    }

    /// Stops every sentinel and node.
    public func stop() {
        admins.closeAll()
        for sentinel in sentinels { sentinel.stop() }
        nodes.stop()
    }
}
