import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Testing

/// The observability hooks with recording implementations, against real servers: a span and a
/// measurement per command and batch, timeouts, a lost connection and the backoff after it, a
/// redirection and a topology refresh on a cluster, and a pub/sub resubscription.
@Suite(.timeLimit(.minutes(5))) struct ObservabilityTests {
    @Test func everyCommandAndBatchGetsASpanAndMeasurements() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let recorder = Recorder()
        let client = try await server.client { $0.observability = recorder.hooks }
        try await client.set("k", "v")
        #expect(try await client.get("k") == "v")
        var batch = Batch(isAtomic: false)
        batch.add(SET("a", "1"))
        batch.add(GET("a"))
        _ = try await client.exec(batch)
        let spans = recorder.spans
        #expect(spans.map(\.name) == ["SET", "GET", "PIPELINE"])
        #expect(spans.allSatisfy { $0.ended && $0.error == nil })
        let get = try #require(spans.first { $0.name == "GET" })
        #expect(get.attributes["db.system.name"] == "valkey")
        #expect(get.attributes["db.operation.name"] == "GET")
        #expect(get.attributes["db.namespace"] == "0")
        #expect(get.attributes["server.address"] == "127.0.0.1")
        #expect(get.attributes["server.port"] == String(server.port))
        #expect(spans.last?.attributes["db.operation.batch.size"] == "2")
        #expect(recorder.count("glide.requests", ["db.operation.name": "GET", "outcome": "ok"]) == 1)
        #expect(recorder.durations("glide.request.duration").count == 3)
        #expect(recorder.durations("glide.request.duration").allSatisfy { $0 > 0 })

        // A timeout: its own counter, an outcome, an error on the span, and a debug log line.
        let blocker = try await server.client()
        _ = try await blocker.customCommand(["CLIENT", "PAUSE", "5000", "ALL"])
        let failed = await failure { _ = try await client.execute(GET("k"), timeout: .milliseconds(100)) }
        _ = try await blocker.customCommand(["CLIENT", "UNPAUSE"])
        #expect(failed?.code == .timeout)
        #expect(recorder.count("glide.timeouts") == 1)
        #expect(recorder.count("glide.requests", ["db.operation.name": "GET", "outcome": "timeout"]) == 1)
        #expect(recorder.spans.last?.error == .timeout)
        #expect(recorder.logs.contains { $0.level == .debug && $0.message.hasPrefix("GET failed") })
        await blocker.close()
        await client.close()
    }

    @Test func aLostConnectionItsReconnectionAndTheBackoffInForceAreReported() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let recorder = Recorder()
        let client = try await server.client {
            $0.observability = recorder.hooks
            $0.reconnectStrategy = BackoffStrategy(numberOfRetries: 3, factor: 100, exponentBase: 2, jitterPercent: 0)
        }
        let before = client.getStatistics()
        #expect(recorder.count("glide.connections.opened") == 1)
        let admin = try await server.client()
        _ = try await admin.customCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        try await Polling.waitUntil("the reconnection is reported") { recorder.count("glide.connections.opened") == 2 }
        #expect(recorder.count("glide.reconnects") == 1)
        #expect(recorder.logs.contains { $0.level == .warning && $0.message.contains("lost, reconnecting") })
        #expect(client.getStatistics().reconnects > before.reconnects)

        // The server is gone: each failed attempt reports the delay before the next one.
        await admin.close()
        await server.kill()
        try await Polling.waitUntil("two failed attempts are reported") { recorder.count("glide.connections.failed") >= 2 }
        let backoffs = recorder.gauges("glide.reconnect.backoff")
        #expect(backoffs.prefix(2) == [100, 200])
        #expect(recorder.logs.contains { $0.metadata["backoff.ms"] == "100" })
        try await server.restart()
        try await Polling.waitUntil("the client is back") {
            (try? await client.get("k")) != nil || recorder.count("glide.connections.opened") == 3
        }
        await client.close()
    }

    @Test func aClusterRedirectionAndTheRefreshItCausesAreReported() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 0)
        defer { cluster.stop() }
        let recorder = Recorder()
        let client = try await cluster.client { $0.observability = recorder.hooks }
        #expect(recorder.count("glide.topology.refreshes", ["reason": "discovery"]) == 1)
        let key = "observed"
        try await client.set(key, "v")
        let slot = HashSlot.of(key)
        let owner = try await cluster.primary(forSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.address != owner.address })
        try await cluster.migrateSlot(slot, to: target)
        #expect(try await client.get(key) == "v")
        #expect(recorder.count("glide.redirections", ["kind": "MOVED"]) >= 1)
        try await Polling.waitUntil("the refresh is reported") { recorder.count("glide.topology.refreshes", ["reason": "refresh"]) >= 1 }
        let span = try #require(recorder.spans.last { $0.name == "GET" })
        #expect(span.attributes["db.system.name"] == "valkey" && span.ended)
        await client.close()
    }

    @Test func aResubscriptionAfterAKilledSubscriberIsReported() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let recorder = Recorder()
        let client = try await server.client {
            $0.observability = recorder.hooks
            $0.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(exact: ["news"]))
        }
        let admin = try await server.client()
        _ = try await admin.customCommand(["CLIENT", "KILL", "TYPE", "pubsub"])
        try await Polling.waitUntil("the resubscription is reported") { recorder.count("glide.pubsub.resubscriptions") >= 1 }
        #expect(recorder.logs.contains { $0.message.contains("subscriptions made again") })
        await admin.close()
        await client.close()
    }
}

/// Records what the hooks receive.
final class Recorder: Sendable {
    struct Span: Sendable {
        var name: String
        var attributes: [String: String]
        var error: GlideError.Code?
        var ended = false
    }

    struct Line: Sendable {
        var level: GlideLogLevel
        var message: String
        var metadata: [String: String]
    }

    struct Sample: Sendable {
        var name: String
        var value: Double
        var dimensions: [String: String]
    }

    fileprivate struct State {
        var spans: [Span] = []
        var logs: [Line] = []
        var counters: [Sample] = []
        var gauges: [Sample] = []
        var histograms: [Sample] = []
    }

    private let state = Lock(State())

    var hooks: GlideObservability {
        GlideObservability(
            logger: RecordingLogger(recorder: self), metrics: RecordingMetrics(recorder: self),
            tracer: RecordingTracer(recorder: self))
    }

    var spans: [Span] { state.withLock { $0.spans } }
    var logs: [Line] { state.withLock { $0.logs } }

    /// The sum of counter `name`'s increments whose dimensions include `dimensions`.
    func count(_ name: String, _ dimensions: [String: String] = [:]) -> Int {
        state.withLock { state in
            state.counters.filter { sample in sample.name == name && dimensions.allSatisfy { sample.dimensions[$0.key] == $0.value } }
                .reduce(0) { $0 + Int($1.value) }
        }
    }

    func gauges(_ name: String) -> [Double] { state.withLock { $0.gauges.filter { $0.name == name }.map(\.value) } }
    func durations(_ name: String) -> [Double] { state.withLock { $0.histograms.filter { $0.name == name }.map(\.value) } }

    fileprivate func record(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }
    fileprivate func endSpan(_ index: Int, error: GlideError.Code?) {
        state.withLock { state in
            if let error { state.spans[index].error = error }
            state.spans[index].ended = true
        }
    }
    fileprivate func startSpan(_ name: String, _ attributes: [String: String]) -> Int {
        state.withLock { state in
            state.spans.append(Span(name: name, attributes: attributes))
            return state.spans.count - 1
        }
    }
}

private struct RecordingLogger: GlideLogger {
    let recorder: Recorder
    var logLevel: GlideLogLevel { .trace }
    func log(_ level: GlideLogLevel, _ message: String, metadata: [String: String]) {
        recorder.record { $0.logs.append(Recorder.Line(level: level, message: message, metadata: metadata)) }
    }
}

private struct RecordingMetrics: GlideMetrics {
    let recorder: Recorder
    func increment(_ counter: String, by amount: Int, dimensions: [(String, String)]) {
        let sample = Recorder.Sample(name: counter, value: Double(amount), dimensions: Dictionary(dimensions) { $1 })
        recorder.record { $0.counters.append(sample) }
    }
    func gauge(_ gauge: String, _ value: Double, dimensions: [(String, String)]) {
        let sample = Recorder.Sample(name: gauge, value: value, dimensions: Dictionary(dimensions) { $1 })
        recorder.record { $0.gauges.append(sample) }
    }
    func record(_ histogram: String, nanoseconds: Int64, dimensions: [(String, String)]) {
        let sample = Recorder.Sample(name: histogram, value: Double(nanoseconds), dimensions: Dictionary(dimensions) { $1 })
        recorder.record { $0.histograms.append(sample) }
    }
}

private struct RecordingTracer: GlideTracer {
    let recorder: Recorder
    func startSpan(_ name: String, attributes: [String: String]) -> any GlideSpan {
        RecordingSpan(recorder: recorder, index: recorder.startSpan(name, attributes))
    }
}

private final class RecordingSpan: GlideSpan {
    let recorder: Recorder
    let index: Int
    private let failure = Lock<GlideError.Code?>(nil)
    init(recorder: Recorder, index: Int) {
        self.recorder = recorder
        self.index = index
    }
    func recordError(_ error: GlideError) { failure.withLock { $0 = error.code } }
    func end() { recorder.endSpan(index, error: failure.withLock { $0 }) }
}
