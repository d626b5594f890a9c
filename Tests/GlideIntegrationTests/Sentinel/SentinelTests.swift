import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// A client built from sentinels: three real sentinel processes watch a real primary and
/// replica. Discovery, a failover under load, a dead sentinel, credentials, and a wrong name.
@Suite(.timeLimit(.minutes(5))) struct SentinelTests {
    @Test func theSentinelsNameThePrimaryAndItsReplicasWithCredentialsOnBoth() async throws {
        let set = try await TestSentinels.start(password: "data-secret", sentinelPassword: "sentinel-secret")
        defer { set.stop() }
        let client = try await GlideClient.create(
            set.configuration {
                $0.credentials = ServerCredentials(password: "data-secret")
                $0.readFrom = .preferReplica
            })
        #expect(client.nodes.nodes[client.nodes.primary].address == set.nodes.primary.address)
        let key = SharedServer.uniqueKey()
        let replica = set.nodes.replicas[0]
        let before = try await set.nodes.calls(of: "get", on: replica)
        try await client.set(key, "v")
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        for _ in 0..<10 { #expect(try await client.get(key) == "v") }
        #expect(try await set.nodes.calls(of: "get", on: replica) - before == 10)
        await client.close()

        // The sentinels' password is theirs: the data nodes' one is refused by them.
        let refused = await failure {
            _ = try await GlideClient.create(
                set.configuration {
                    $0.credentials = ServerCredentials(password: "data-secret")
                    $0.sentinel?.credentials = ServerCredentials(password: "data-secret")
                })
        }
        #expect(refused?.code == .authenticationFailed)
    }

    @Test func aPrimaryNameNoSentinelMonitorsIsAConfigurationErrorAndNoSentinelAConnectionFailure() async throws {
        let set = try await TestSentinels.start(sentinels: 1)
        defer { set.stop() }
        let unknown = await failure {
            _ = try await GlideClient.create(set.configuration { $0.sentinel?.primaryName = "no-such-primary" })
        }
        #expect(unknown?.code == .configuration)
        #expect(unknown?.message.contains("no-such-primary") == true)

        let refusing = try FreePort.refusing()
        let unreachable = await failure {
            _ = try await GlideClient.create(
                set.configuration {
                    $0.sentinel?.sentinels = [NodeAddress(host: "127.0.0.1", port: refusing.port)]
                })
        }
        #expect(unreachable?.code == .connectionFailed)
        // The same client with a live sentinel after the dead one still works.
        let client = try await GlideClient.create(
            set.configuration {
                $0.sentinel?.sentinels = [NodeAddress(host: "127.0.0.1", port: refusing.port), set.sentinels[0].address]
            })
        try await client.set(SharedServer.uniqueKey(), "v")
        await client.close()
    }

    /// Redis 7 sentinels and nodes speaking TLS only: the sentinels are asked and watched over
    /// TLS, and they know only the older `GET-MASTER-ADDR-BY-NAME` and `SLAVES` spellings, which
    /// the client falls back to. A plain failover is followed through their notice.
    @Test func redisSentinelsOverTLSAreAskedInTheOlderSpellingAndFollowed() async throws {
        let set = try await TestSentinels.start(sentinels: 1, tls: try await TestCertificates.shared())
        defer { set.stop() }
        let client = try await GlideClient.create(set.configuration { $0.readFrom = .preferReplica })
        #expect(client.configuration.addresses == [set.nodes.primary.address, set.nodes.replicas[0].address])
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        let replica = set.nodes.replicas[0]
        try await set.failover(through: set.sentinels[0], coordinated: false)
        try await Polling.waitUntil("the client writes to the promoted replica") {
            _ = try? await client.set(key, "after")
            return try await set.nodes.command(replica, ["GET", key]) == .bulkString(Bytes("after"))
        }
        await client.close()
    }

    /// 20 tasks write keys of their own while a sentinel runs `SENTINEL FAILOVER … COORDINATED`
    /// (the primary pauses writes, waits for the replica, demotes itself, and the replica takes
    /// over). Writes stop for no longer than 5 s, continue on the new primary, and every write the
    /// client acknowledged is there.
    @Test func aCoordinatedFailoverUnderLoadLosesNoAcknowledgedWriteAndWritesFollowWithin5s() async throws {
        guard ServerBinaries.mainServer.isValkey && ServerBinaries.mainServer.version >= ServerVersion("9.0") else {
            // The plain failover test covers what older sentinels do.
            print("\(ServerBinaries.mainServer.version): sentinels have no SENTINEL FAILOVER … COORDINATED (Valkey 9)")
            return
        }
        let set = try await TestSentinels.start()
        defer { set.stop() }
        let client = try await GlideClient.create(set.configuration { $0.requestTimeout = TestTiming.bound(.seconds(1)) })
        let prefix = SharedServer.uniqueKey()
        let clock = ContinuousClock()
        let start = clock.now
        let done = Flag()
        let acknowledged = Acknowledgements()
        let replica = set.nodes.replicas[0]
        var failoverAt = Duration.zero
        var switchedAt = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    var index = 0
                    while !done.isSet {
                        index += 1
                        let key = "\(prefix):\(task):\(index)"
                        if (try? await client.set(key, "v")) != nil {
                            let at = clock.now - start
                            acknowledged.append(Acknowledged(key: key, at: at))
                        }
                    }
                }
            }
            defer { done.set() }
            try await Polling.waitUntil("writes are under way") { acknowledged.count > 200 }
            failoverAt = clock.now - start
            try await set.failover(through: set.sentinels[0], coordinated: true)
            try await Polling.waitUntil("the sentinels name the replica and the old primary follows it") {
                let named = try await set.primaryPort(according: set.sentinels[0])
                let role = try await set.nodes.command(set.nodes.primary, ["ROLE"])
                guard case .array(let fields) = role else { return false }
                return named == replica.port && fields.first?.stringValue == "slave"
            }
            switchedAt = clock.now - start
            let acknowledgedAtSwitch = acknowledged.count
            try await Polling.waitUntil("writes continue on the new primary") {
                acknowledged.count > acknowledgedAtSwitch + 200
            }
        }

        let writes = acknowledged.all.sorted { $0.at < $1.at }
        // The longest pause in acknowledgements after the failover began.
        var longestPause = Duration.zero
        for (previous, next) in zip(writes, writes.dropFirst()) where next.at > failoverAt {
            longestPause = max(longestPause, next.at - max(previous.at, failoverAt))
        }
        print(
            "sentinel coordinated failover: \(writes.count) writes acknowledged, longest pause \(longestPause), "
                + "switch seen \(switchedAt - failoverAt) after the command")
        #expect(longestPause < TestTiming.bound(.seconds(5)))
        #expect(writes.contains { $0.at > switchedAt })
        // Every acknowledged write is on the new primary.
        var found = 0
        for chunk in stride(from: 0, to: writes.count, by: 500) {
            let keys = writes[chunk..<min(chunk + 500, writes.count)].map(\.key)
            if case .integer(let count) = try await set.nodes.command(replica, ["EXISTS"] + keys) { found += count }
        }
        #expect(found == writes.count)
        await client.close()
    }

    /// The sentinel the client watches is killed, then another forces a plain failover: the old
    /// primary keeps saying it is a primary for seconds, so only the sentinels' word moves the
    /// client, through the next sentinel in its list.
    @Test func aPlainFailoverIsFollowedThroughTheNextSentinelWhenTheWatchedOneDies() async throws {
        let set = try await TestSentinels.start()
        defer { set.stop() }
        let client = try await GlideClient.create(set.configuration { $0.heartbeatInterval = .milliseconds(500) })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "before")
        await set.kill(set.sentinels[0])
        let clock = ContinuousClock()
        let began = clock.now
        try await set.failover(through: set.sentinels[1], coordinated: false)
        let replica = set.nodes.replicas[0]
        // Once the replica is a primary, nothing written to the old primary reaches it.
        try await Polling.waitUntil("the replica is promoted", interval: .milliseconds(20)) {
            guard case .array(let fields) = try await set.nodes.command(replica, ["ROLE"]) else { return false }
            return fields.first?.stringValue == "master"
        }
        let promoted = clock.now
        // The client follows the sentinels' word, and a sentinel names the new primary only once
        // it has seen the promotion (its next INFO of the replica): the client's share starts
        // there. How long the sentinels and the server take depends on the machine's load, and
        // is not the client's to bound (5.38 s once from the promotion).
        try await Polling.waitUntil("the next sentinel names the new primary", interval: .milliseconds(20)) {
            try await set.primaryPort(according: set.sentinels[1]) == replica.port
        }
        let announced = clock.now
        let attempt = Counter()
        try await Polling.waitUntil("a write through the client lands on the new primary", interval: .milliseconds(20)) {
            let probe = "\(key):\(attempt.next())"
            _ = try? await client.set(probe, "v")
            return try await set.nodes.command(replica, ["EXISTS", probe]) == .integer(1)
        }
        let followed = clock.now - announced
        print(
            "sentinel plain failover with the watched sentinel dead: the replica promoted \(promoted - began) after the"
                + " command, the next sentinel named it \(announced - promoted) later, writes followed \(followed) after that")
        #expect(followed < TestTiming.bound(.seconds(5)))
        #expect(try await client.get(key) == "before")
        await client.close()
    }
}

/// A write the client acknowledged, and when.
struct Acknowledged: Sendable {
    let key: String
    let at: Duration
}

/// The writes acknowledged so far, shared by the writing tasks. (`Lock` is a pthread mutex under
/// `make tsan`, whose synchronization ThreadSanitizer sees; `Mutex`'s it doesn't.)
final class Acknowledgements: Sendable {
    private let writes = Lock<[Acknowledged]>([])
    var count: Int { writes.withLock { $0.count } }
    var all: [Acknowledged] { writes.withLock { $0 } }
    func append(_ write: Acknowledged) { writes.withLock { $0.append(write) } }
}
