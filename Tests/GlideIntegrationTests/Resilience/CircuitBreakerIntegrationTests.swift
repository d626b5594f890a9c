import Foundation
import Glide
import GlideTestSupport
import Testing

/// The circuit breaker against real servers: a stopped node opens its breaker, requests to it then
/// fail at once with `.circuitOpen` (and never reach it), a probe closes it once the node is back,
/// error replies never open it, and on a cluster only the stopped node's slots are cut off.
@Suite(.timeLimit(.minutes(3))) struct CircuitBreakerIntegrationTests {
    static let requestTimeout = Duration.milliseconds(200)
    /// What requests outside the fault are given: on a machine busy with the rest of the suite a
    /// healthy node can take longer than `requestTimeout`, and those requests test nothing here.
    static let generous = Duration.seconds(10)

    /// Sends `get` until one fails with `code`: how many requests it took (`nil`: not within 50).
    static func failures(until code: GlideError.Code, _ get: () async throws(GlideError) -> Void) async -> Int? {
        for attempt in 1...50 {
            do {
                try await get()
            } catch {
                if error.code == code { return attempt }
            }
        }
        return nil
    }

    /// The median time `get` takes to fail, over `count` calls that must all fail with `.circuitOpen`.
    static func medianRejection(_ count: Int, _ get: () async throws(GlideError) -> Void) async -> Duration {
        var times: [Duration] = []
        for _ in 0..<count {
            let started = ContinuousClock.now
            do {
                try await get()
                Issue.record("a request went through an open breaker")
            } catch {
                #expect(error.code == .circuitOpen, "\(error)")
            }
            times.append(ContinuousClock.now - started)
        }
        return times.sorted()[count / 2]
    }

    @Test func aStoppedServerOpensTheBreakerRequestsFailAtOnceAndAProbeClosesItOnceTheServerIsBack() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let timeline = Timeline()
        let client = try await server.client {
            $0.requestTimeout = Self.requestTimeout
            $0.circuitBreaker = CircuitBreakerConfiguration(consecutiveFailures: 3, openDuration: .milliseconds(500))
            $0.observability = GlideObservability(logger: timeline)
        }
        _ = try await client.customCommand(["SET", "breaker", "on"], timeout: Self.generous)
        let before = client.getStatistics()
        server.freeze()
        // Three timeouts in a row open it; the next request fails at once.
        let timeouts = try #require(
            await Self.failures(until: .circuitOpen) { () throws(GlideError) in _ = try await client.get("breaker") })
        #expect(timeouts == 4, "three requests timed out, the fourth was refused")
        let median = await Self.medianRejection(1000) { () throws(GlideError) in _ = try await client.get("breaker") }
        // Failing at once means long before the request's own timeout would have.
        #expect(median < Self.requestTimeout / 10)
        server.thaw()
        // Once its open period ends, one probe goes; its success closes the breaker.
        let thawed = ContinuousClock.now
        try await Polling.waitUntil("the breaker closes", timeout: .seconds(10), interval: .milliseconds(20)) {
            (try? await client.get("breaker")) == "on"
        }
        let back = ContinuousClock.now - thawed
        let after = client.getStatistics()
        let log = timeline.messages
        print(
            "circuit breaker: opened after \(timeouts - 1) timeouts; median rejection \(median) over 1000 requests; "
                + "closed \(back) after the server was thawed; openings +\(after.circuitBreakerOpenings - before.circuitBreakerOpenings), "
                + "rejections +\(after.circuitBreakerRejections - before.circuitBreakerRejections)")
        #expect(after.circuitBreakerOpenings > before.circuitBreakerOpenings)
        #expect(after.circuitBreakerRejections >= before.circuitBreakerRejections + 1001)
        #expect(log.contains { $0.contains("opened: 3 requests failed in a row") }, "\(log)")
        #expect(log.contains { $0.contains("closed: its probe request succeeded") }, "\(log)")
        await client.close()
    }

    @Test func errorRepliesNeverOpenTheBreaker() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client {
            $0.circuitBreaker = CircuitBreakerConfiguration(consecutiveFailures: 2)
        }
        let key = SharedServer.uniqueKey()
        try await client.set(key, "a string")
        for _ in 0..<10 {
            do throws(GlideError) {
                _ = try await client.lpush(key, ["x"])
                Issue.record("LPUSH on a string succeeded")
            } catch {
                #expect(error.code == .server && error.serverCode == "WRONGTYPE", "\(error)")
            }
        }
        #expect(try await client.get(key) == "a string")
        await client.close()
    }

    @Test func onAClusterOnlyTheStoppedNodesSlotsFailAtOnceAndTheOtherShardsServe() async throws {
        // No replicas and a long node timeout: the stopped primary is neither replaced nor
        // declared failed meanwhile, and the other shards serve their slots throughout.
        let cluster = try await TestCluster.start(
            primaries: 3, replicasPerPrimary: 0, nodeTimeout: 60_000, extraArguments: ["--cluster-require-full-coverage", "no"])
        defer { cluster.stop() }
        let client = try await cluster.client {
            $0.requestTimeout = Self.requestTimeout
            $0.circuitBreaker = CircuitBreakerConfiguration(consecutiveFailures: 3, openDuration: .milliseconds(500))
        }
        let primaries = try await cluster.primaries()
        // One key per primary, found by the slot its hash tag names.
        let map = SlotMap(try await cluster.topology(from: primaries[0]))
        let keys = try primaries.map { primary in
            let index = (0..<10_000).first { map.primary(forSlot: HashSlot.of("{k\($0)}")) == primary.address }
            return "{k\(try #require(index))}"
        }
        for key in keys { _ = try await client.execute(SET(key, "v"), timeout: Self.generous) }
        let stopped = primaries[0]
        stopped.server.freeze()
        let timeouts = try #require(await Self.failures(until: .circuitOpen) { () throws(GlideError) in _ = try await client.get(keys[0]) })
        #expect(timeouts == 4, "three requests timed out, the fourth was refused")
        let median = await Self.medianRejection(200) { () throws(GlideError) in _ = try await client.get(keys[0]) }
        #expect(median < Self.requestTimeout / 10)
        // The other shards, meanwhile.
        for key in keys.dropFirst() {
            for _ in 0..<20 { #expect(try await client.execute(GET(key).decoding(as: String?.self), timeout: Self.generous) == "v") }
        }
        stopped.server.thaw()
        try await Polling.waitUntil("the stopped node's breaker closes", timeout: .seconds(10), interval: .milliseconds(20)) {
            (try? await client.get(keys[0])) == "v"
        }
        print("cluster circuit breaker: opened after \(timeouts - 1) timeouts; median rejection \(median); other shards served")
        await client.close()
    }
}
