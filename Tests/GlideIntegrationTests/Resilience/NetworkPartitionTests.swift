import Foundation
import Glide
import GlideTestSupport
import Testing

/// A true partition: the server runs in a network namespace of its own, joined to the tests' by a
/// veth pair, and the pair's far end goes down. Unlike the fault proxy's black hole, the kernel
/// itself drops the packets, both ways, with no reset: what a cut cable or a firewall's DROP does.
@Suite(.timeLimit(.minutes(5))) struct NetworkPartitionTests {
    /// Ten tasks writing and reading under a 500 ms request timeout; the link down for 3 s, longer
    /// than a timeout and the stale grace together, so the client gives the silent connection up
    /// and tries new ones into the partition. Callers see typed errors only, and the client is
    /// connected again within a second of the heal.
    ///
    /// The bound is on the client's reconnection, from its own log: the first request to succeed
    /// after it also waits for the test's tasks to be scheduled, and at this point of the suite
    /// the cooperative pool is at its busiest (once 0.62 s between the two).
    @Test func aPartitionGivesTypedErrorsAndTheClientIsBackWithinASecondOfTheHeal() async throws {
        let namespace = try await NetworkNamespace.create()
        defer { namespace.remove() }
        let server = try await TestServer.startValkey(in: namespace)
        defer { server.stop() }
        // An attempt into the partition gives up after 300 ms and the next starts 100 ms later, so
        // every attempt is one SYN: the kernel would send a dropped SYN again only after 1 s (TCP's
        // initial retransmission timeout), and an attempt waiting for that would set the bound.
        var configuration = GlideClientConfiguration(addresses: [server.address]).with {
            $0.requestTimeout = .milliseconds(500)
            $0.connectionTimeout = .milliseconds(300)
            $0.reconnectStrategy = BackoffStrategy(numberOfRetries: 0, factor: 100, jitterPercent: 0)
            // Connected by the supervisor in the background: a handshake that a loaded machine
            // takes longer than the 300 ms over is tried again 100 ms later, rather than failing
            // `create`, which is not what this test is about.
            $0.lazyConnect = true
        }
        let timeline = Timeline()
        configuration.observability = GlideObservability(logger: timeline)
        let client = try await GlideClient.create(configuration)
        let load = FaultLoad()
        let running = load.run(client)
        try await Polling.waitUntil("the load runs") { load.successes.load(ordering: .relaxed) > 50 }
        timeline.mark("partition")
        try await namespace.partition()
        try await Task.sleep(for: .seconds(3))
        let during = load.errors.withLock { $0 }
        try await namespace.heal()
        timeline.mark("healed")
        let recovery = try await load.backAfterHeal("a request succeeds after the heal")
        let succeeded = load.successes.load(ordering: .relaxed)
        try await Polling.waitUntil("the load goes on") { load.successes.load(ordering: .relaxed) > succeeded + 50 }
        await load.finish(running)
        let errors = load.errors.withLock { $0 }
        let reconnected = try #require(timeline.firstEntry(containing: "connected to", after: "partition", since: "healed"))
        print(
            "partition 3 s (veth down): \(during) typed errors during it, \(errors) in all; connected again \(reconnected)"
                + " after the heal, the first request back \(recovery) after it")
        print("partition timeline (ms after the cut):\n" + timeline.lines(from: "partition").joined(separator: "\n"))
        #expect(load.wrongReplies.withLock { $0 }.isEmpty, "\(load.wrongReplies.withLock { $0.prefix(3) })")
        #expect(!during.isEmpty, "the partition was felt")
        #expect(Set(errors.keys).isSubset(of: NetworkFaultTests.faultCodes), "\(errors)")
        // The first attempt to start after the heal connects: one starts every 400 ms at most.
        #expect(reconnected < TestTiming.bound(.seconds(1)))
        await client.close()
    }
}
