import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

/// `events()` on real servers: a reconnect, a standalone failover, a cluster reshard and
/// failover, and a cache flush, each seen in the order it happened.
@Suite(.timeLimit(.minutes(3))) struct EventStreamTests {
    /// The events of `stream` until `done` holds for what arrived, or `timeout` passes.
    static func collect(
        _ stream: AsyncStream<GlideEvent>, timeout: Duration = TestTiming.bound(.seconds(20)),
        until done: @escaping @Sendable ([GlideEvent]) -> Bool, while acting: @escaping @Sendable () async throws -> Void = {}
    ) async throws -> [GlideEvent] {
        let seen = Mutex<[GlideEvent]>([])
        let reader = Task {
            for await event in stream {
                if seen.withLock({
                    $0.append(event)
                    return done($0)
                }) {
                    return
                }
            }
        }
        defer { reader.cancel() }
        let started = ContinuousClock.now
        while !seen.withLock({ done($0) }) {
            guard ContinuousClock.now - started < timeout else {
                Issue.record("the events awaited did not come within \(timeout): \(seen.withLock { $0 })")
                break
            }
            try await acting()
            try await Task.sleep(for: .milliseconds(20))
        }
        return seen.withLock { $0 }
    }

    static func index(of wanted: (GlideEvent) -> Bool, in events: [GlideEvent]) -> Int? { events.firstIndex(where: wanted) }

    @Test func aKilledConnectionIsSeenLostThenReady() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let admin = try await server.client()
        let stream = client.events()
        let id = try #require(try await client.customCommand(["CLIENT", "ID"]).intValue)
        _ = try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)])
        let port = server.address.port
        let events = try await Self.collect(stream) { events in
            events.contains { if case .connectionReady(let node) = $0 { node.port == port } else { false } }
        }
        let lost = Self.index(of: { if case .connectionLost(let node, _) = $0 { node.port == port } else { false } }, in: events)
        let ready = Self.index(of: { if case .connectionReady(let node) = $0 { node.port == port } else { false } }, in: events)
        #expect(lost != nil && ready != nil && lost! < ready!, "\(events)")
        #expect(try await client.ping() == "PONG")
        await client.close()
        await admin.close()
    }

    @Test func aStandaloneFailoverNamesTheOldAndNewPrimary() async throws {
        let set = try await TestReplicaSet.start(replicas: 1)
        defer { set.stop() }
        let client = try await GlideClient.create(GlideClientConfiguration(addresses: set.addresses))
        let stream = client.events()
        let (old, new) = (set.primary.address, set.replicas[0].address)
        try await set.promote(set.replicas[0])
        // Writes find the new primary (a redirection, or the role check), which reports it.
        let events = try await Self.collect(
            stream,
            until: {
                $0.contains { if case .failover(let from, let to) = $0 { from?.port == old.port && to.port == new.port } else { false } }
            },
            while: { _ = try? await client.set("events:failover", "v") })
        #expect(events.contains { $0.kind == "failover" })
        await client.close()
    }

    @Test func aClusterReshardThenFailoverAreSeenInOrder() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 1, nodeTimeout: 1000)
        defer { cluster.stop() }
        let client = try await cluster.client()
        let stream = client.events()
        let key = "events:{moving}"
        let slot = HashSlot.of(key)
        let source = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.id != source.id })
        try await cluster.migrateSlot(slot, to: target)
        var events = try await Self.collect(
            stream,
            until: {
                $0.contains {
                    if case .slotsMoved(let slots, _, let to) = $0 {
                        slots.contains(slot) && to?.port == target.address.port
                    } else {
                        false
                    }
                }
            },
            while: { _ = try? await client.set(key, "v") })
        let moved = try #require(events.first { if case .slotsMoved = $0 { true } else { false } })
        #expect(
            moved == .slotsMoved(slot...slot, from: source.address.normalized(like: moved), to: target.address.normalized(like: moved)),
            "\(moved)")
        // The target's replica takes over from it: a failover, after the move.
        let replica = try #require(try await cluster.replicas(of: target).first)
        try await cluster.failover(to: replica)
        events += try await Self.collect(
            stream,
            until: {
                $0.contains {
                    if case .failover(let from, let to) = $0 {
                        from?.port == target.address.port && to.port == replica.address.port
                    } else {
                        false
                    }
                }
            },
            while: { _ = try? await client.set(key, "v") })
        let movedAt = Self.index(of: { if case .slotsMoved = $0 { true } else { false } }, in: events)
        let failoverAt = Self.index(of: { $0.kind == "failover" }, in: events)
        #expect(movedAt != nil && failoverAt != nil && movedAt! < failoverAt!, "\(events)")
        // A failover's slots are not reported moved as well.
        let targetPort = target.address.port
        let movedOffTheTarget = events.filter { event in
            guard case .slotsMoved(_, let from, _) = event else { return false }
            return from?.port == targetPort
        }
        #expect(movedOffTheTarget.isEmpty, "\(events)")
        await client.close()
    }

    @Test func aFlushReachesTheCacheAndIsSeen() async throws {
        // A server of its own: FLUSHALL on the shared one would take other tests' keys.
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.clientSideCache = ClientSideCache(maximumBytes: 1 << 20) }
        let admin = try await server.client()
        let key = SharedServer.uniqueKey("events-cache")
        try await client.set(key, "v")
        #expect(try await client.get(key) == "v")
        let stream = client.events()
        _ = try await admin.customCommand(["FLUSHALL"])
        let events = try await Self.collect(stream) { $0.contains { $0.kind == "cache_flushed" } }
        #expect(events.contains { if case .cacheFlushed(let reason) = $0 { reason.contains("server") } else { false } })
        await client.close()
        await admin.close()
    }

    @Test func aStreamEndsWhenTheClientCloses() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let stream = client.events()
        await client.close()
        // The loop finishes (a stream left open would hold the test to its time limit), and nothing
        // in it comes after the close.
        var afterClose: [GlideEvent] = []
        for await event in stream { afterClose.append(event) }
        #expect(!afterClose.contains { $0.kind == "connection_ready" })
        var later = 0
        for await _ in client.events() { later += 1 }
        #expect(later == 0)
    }
}

extension NodeAddress {
    /// This address with the host the event used (the client names nodes as the servers do).
    fileprivate func normalized(like event: GlideEvent) -> NodeAddress {
        guard case .slotsMoved(_, let from, let to) = event, let host = (from ?? to)?.host else { return self }
        return NodeAddress(host: host, port: port)
    }
}
