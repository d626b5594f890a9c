import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// A standalone primary with real replicas: where reads go, what happens when a replica dies, and
/// a failover followed without a new client.
@Suite(.timeLimit(.minutes(5))) struct ReplicaAndFailoverTests {
    @Test func preferReplicaReadsGoToTheReplicaAndWritesToThePrimary() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.readFrom = .preferReplica
            })
        let key = SharedServer.uniqueKey()
        let (setsBefore, primaryGetsBefore, replicaGetsBefore) = (
            try await set.calls(of: "set", on: set.primary), try await set.calls(of: "get", on: set.primary),
            try await set.calls(of: "get", on: set.replicas[0])
        )
        for index in 0..<20 { try await client.set("\(key):\(index)", "v") }
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        for index in 0..<20 { #expect(try await client.get("\(key):\(index)") == "v") }
        #expect(try await set.calls(of: "set", on: set.primary) - setsBefore == 20)
        #expect(try await set.calls(of: "get", on: set.replicas[0]) - replicaGetsBefore == 20)
        #expect(try await set.calls(of: "get", on: set.primary) - primaryGetsBefore == 0)
        // One read, from the primary, for this call only.
        #expect(try await client.execute(GET("\(key):0").decoding(as: String?.self), readFrom: .primary) == "v")
        #expect(try await set.calls(of: "get", on: set.primary) - primaryGetsBefore == 1)
        await client.close()
    }

    @Test func theReplicasOfAGivenPrimaryAreFoundWhenReadsGoToReplicas() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [set.primary.address]).with {
                $0.readFrom = .preferReplica
            })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        // The replica is found from the primary's answer and connected in the background: reads
        // go to the primary until then.
        let created = ContinuousClock.now
        try await Polling.waitUntil("the client has found the replica") {
            let calls = try await set.calls(of: "get", on: set.replicas[0])
            _ = try await client.get(key)
            return try await set.calls(of: "get", on: set.replicas[0]) > calls
        }
        print("preferReplica from the primary's address: reads on the replica \(ContinuousClock.now - created) after the first write")
        let before = try await set.calls(of: "get", on: set.replicas[0])
        for _ in 0..<10 { #expect(try await client.get(key) == "v") }
        #expect(try await set.calls(of: "get", on: set.replicas[0]) - before == 10)
        await client.close()
    }

    @Test func aLazyClientsOtherNodesConnectOnceOneHas() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        // A loop of its own: the first request includes the connect and its handshake, within the
        // default 250 ms, and the shared loop is busy with every other test's traffic.
        let loop = EpollEventLoop(name: "lazy-test")
        defer { loop.shutdown() }
        var configuration = GlideClientConfiguration(addresses: set.addresses).with {
            $0.readFrom = .preferReplica
            $0.lazyConnect = true
        }
        configuration.eventLoop = loop
        let client = try await GlideClient.create(configuration)
        #expect(client.nodes.replicas.isEmpty)  // nothing connected yet
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        try await Polling.waitUntil("the replica connects too", timeout: .seconds(10)) { client.nodes.replicas == [1] }
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        let before = try await set.calls(of: "get", on: set.replicas[0])
        #expect(try await client.get(key) == "v")
        #expect(try await set.calls(of: "get", on: set.replicas[0]) - before == 1)
        await client.close()
    }

    @Test func azAffinityReadsFromTheReplicaInTheClientsZone() async throws {
        let set = try await TestReplicaSet.start(replicas: 2, zones: ["az-a", "az-b", "az-c"])
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.readFrom = .azAffinity
                $0.clientAZ = "az-c"
            })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        _ = try await client.customCommand(["WAIT", "2", "2000"])
        let before = try await (set.calls(of: "get", on: set.replicas[0]), set.calls(of: "get", on: set.replicas[1]))
        for _ in 0..<10 { #expect(try await client.get(key) == "v") }
        let served = try await (set.calls(of: "get", on: set.replicas[0]) - before.0, set.calls(of: "get", on: set.replicas[1]) - before.1)
        if ServerBinaries.mainServerHasZones {
            #expect(served == (0, 10))
        } else {
            // No node names a zone: reads fall back to the replicas, as GLIDE's do.
            print("\(ServerBinaries.mainServer.version): no availability-zone; azAffinity reads go to any replica")
            #expect(served.0 + served.1 == 10)
        }
        await client.close()
    }

    @Test func aSettingThatWouldDoNothingIsAConfigurationError() async throws {
        let server = try await SharedServer.valkey()
        let strayZone = await #expect(throws: GlideError.self) {
            try await GlideClient.create(server.configuration { $0.clientAZ = "az-a" })
        }
        #expect(strayZone?.code == .configuration)
        let missingZone = await #expect(throws: GlideError.self) {
            try await GlideClient.create(server.configuration { $0.readFrom = .azAffinity })
        }
        #expect(missingZone?.code == .configuration)
        let badBackoff = await #expect(throws: GlideError.self) {
            try await GlideClient.create(server.configuration { $0.reconnectStrategy = BackoffStrategy(factor: 0) })
        }
        #expect(badBackoff?.code == .configuration)
    }

    @Test func aReadOnlyClientRefusesWritesBeforeSendingThem() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: [set.replicas[0].address]).with {
                $0.readOnly = true
            })
        let key = SharedServer.uniqueKey()
        let before = try await set.calls(of: "set", on: set.replicas[0])
        let refused = await #expect(throws: GlideError.self) { try await client.set(key, "v") }
        #expect(refused?.code == .configuration)
        #expect(try await set.calls(of: "set", on: set.replicas[0]) == before)
        #expect(try await client.get(key) == nil)
        await client.close()
    }

    @Test func aKilledReplicaIsLeftAndReadsFallBack() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.readFrom = .preferReplica
                $0.requestTimeout = .seconds(1)
            })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        let tally = Tally()
        let stop = Flag()
        let readsBefore = try await set.calls(of: "get", on: set.primary)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    while !stop.isSet {
                        do throws(GlideError) {
                            tally.record(try await client.get(key) == "v" ? "ok" : "wrong value")
                        } catch {
                            tally.record(error.code.description)
                        }
                    }
                }
            }
            try await Polling.waitUntil("the reads succeed") { tally.counts["ok", default: 0] > 20 }
            await set.replicas[0].kill()
            try await Task.sleep(for: .milliseconds(700))
            stop.set()
            try await group.waitForAll()
        }
        let counts = tally.counts
        print("replica killed under 20 reading tasks: \(counts.sorted { $0.key < $1.key })")
        #expect(counts.keys.allSatisfy { $0 == "ok" }, "\(counts)")
        // The reads went on, on the primary.
        #expect(try await set.calls(of: "get", on: set.primary) > readsBefore)
        await client.close()
    }

    @Test func writesFollowAStandaloneFailover() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let (oldPrimary, newPrimary) = (set.primary, set.replicas[0])
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.requestTimeout = .seconds(1)
            })
        let prefix = SharedServer.uniqueKey()
        let tally = Tally()
        let stop = Flag()
        let counter = Counter()
        let writer = Task {
            while !stop.isSet {
                let index = counter.next()
                do throws(GlideError) {
                    try await client.set("\(prefix):\(index)", "v")
                    tally.record("ok")
                } catch {
                    tally.record(error.code.description + (error.serverCode.map { " \($0)" } ?? ""))
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        try await Polling.waitUntil("the writes succeed") { tally.counts["ok", default: 0] > 20 }
        // REPLICAOF NO ONE on the replica, then the old primary made its replica.
        try await set.promote(newPrimary)
        let demoted = ContinuousClock.now
        let mark = counter.value
        // Writes move to the new primary: a write made after the demotion lands there.
        try await Polling.waitUntil("writes reach the new primary", timeout: .seconds(10), interval: .milliseconds(20)) {
            let now = counter.value
            return try await set.command(newPrimary, ["EXISTS", "\(prefix):\(now - 1)"]).intValue == 1 && now > mark
        }
        let followed = ContinuousClock.now - demoted
        try await Task.sleep(for: .milliseconds(300))
        stop.set()
        await writer.value
        let counts = tally.counts
        print(
            "standalone failover: writes reached the new primary \(followed) after the old one was demoted; \(counts.sorted { $0.key < $1.key })"
        )
        #expect(followed < TestTiming.bound(.seconds(5)))
        // No write failed with anything but a typed, retry-safe error; neither READONLY nor
        // REDIRECT ever reached the caller.
        #expect(!counts.keys.contains { $0.contains("READONLY") || $0.contains("REDIRECT") }, "\(counts)")
        try await client.set("\(prefix):final", "v")
        #expect(try await set.command(newPrimary, ["GET", "\(prefix):final"]).stringValue == "v")
        #expect(try await set.info(oldPrimary, "replication").contains("master_port:\(newPrimary.port)"))
        await client.close()
    }

    @Test func aWriteToADemotedPrimaryIsRedirectedToTheNewOneAtOnce() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let (oldPrimary, newPrimary) = (set.primary, set.replicas[0])
        let redirections = RedirectionCounter()
        var configuration = GlideClientConfiguration(addresses: set.addresses).with { $0.requestTimeout = .seconds(2) }
        // No periodic role check: only the demoted primary's answer can tell the client.
        configuration.heartbeatInterval = nil
        configuration.observability = GlideObservability(metrics: redirections)
        let client = try await GlideClient.create(configuration)
        let key = SharedServer.uniqueKey()
        try await client.set(key, "before")
        let capabilities = try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        guard ServerBinaries.mainServerRedirects else {
            // Older servers refuse CLIENT CAPA (ignored): a demoted primary answers READONLY,
            // which the failover test covers.
            #expect(!capabilities.contains(" capa=r "))
            print("\(ServerBinaries.mainServer.version): no CLIENT CAPA redirect")
            await client.close()
            return
        }
        #expect(capabilities.contains(" capa=r "), "\(capabilities)")
        // Reads on the replica still work: its connection sent READONLY with the capability.
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        #expect(try await set.command(newPrimary, ["GET", key]).stringValue == "before")
        try await set.promote(newPrimary)
        try await Polling.waitUntil("the old primary is a replica") {
            try await set.info(oldPrimary, "replication").contains("role:slave")
        }
        // The client still routes writes to the old primary, whose connection stays up: its
        // answer names the new primary, and the write goes there.
        #expect(client.routing.primary.connector.address == oldPrimary.address)
        try await client.set(key, "after")
        #expect(redirections.count == 1)
        #expect(try await set.command(newPrimary, ["GET", key]).stringValue == "after")
        // The roles were checked meanwhile: the next writes go straight to the new primary.
        try await Polling.waitUntil("the routes name the new primary") {
            client.routing.primary.connector.address == newPrimary.address
        }
        try await client.set(key, "again")
        #expect(redirections.count == 1)
        #expect(try await set.command(newPrimary, ["GET", key]).stringValue == "again")
        await client.close()
    }

    @Test func aCrashedPrimaryIsFollowedToThePromotedReplica() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let replica = set.replicas[0]
        let client = try await GlideClient.create(
            GlideClientConfiguration(addresses: set.addresses).with {
                $0.requestTimeout = .milliseconds(500)
            })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "before")
        _ = try await client.customCommand(["WAIT", "1", "2000"])
        await set.primary.kill()
        try await set.command(replica, ["REPLICAOF", "NO", "ONE"])
        let promoted = ContinuousClock.now
        try await Polling.waitUntil("a write reaches the promoted replica", timeout: .seconds(10), interval: .milliseconds(20)) {
            (try? await client.set(key, "after")) != nil
        }
        let followed = ContinuousClock.now - promoted
        print("crashed primary: writes reached the promoted replica \(followed) after its promotion")
        #expect(followed < TestTiming.bound(.seconds(5)))
        #expect(try await set.command(replica, ["GET", key]).stringValue == "after")
        await client.close()
    }
}

/// Counts the client's `REDIRECT` redirections (`glide.redirections`, kind `REDIRECT`).
final class RedirectionCounter: GlideMetrics {
    private let total = Atomic<Int>(0)
    var count: Int { total.load(ordering: .relaxed) }

    func increment(_ counter: String, by amount: Int, dimensions: [(String, String)]) {
        guard counter == "glide.redirections", dimensions.contains(where: { $0 == ("kind", "REDIRECT") }) else { return }
        total.add(amount, ordering: .relaxed)
    }
    func gauge(_ gauge: String, _ value: Double, dimensions: [(String, String)]) {}
    func record(_ histogram: String, nanoseconds: Int64, dimensions: [(String, String)]) {}
}
