import Foundation
import Glide
import GlideTestSupport
import Testing

@testable import GlideClient

/// A timeout's message says where the time went, as the connection saw it, against a real server.
@Suite(.timeLimit(.minutes(2))) struct TimeoutDiagnosticsTests {
    @Test func aRequestBehindASlowOneSaysSoAndOneToAStoppedServerSaysItStalled() async throws {
        let server = try await TestServer.startValkey(["--enable-debug-command", "yes"])
        defer { server.stop() }
        // No heartbeat: the one request in flight below is the sleep.
        let client = try await server.client { $0.heartbeatInterval = nil }
        let admin = try await server.client()
        // The server is busy with a long command on the client's connection: a request behind it
        // waits for that one. Once the connection has the sleep in flight, the next request goes
        // behind it, whenever the server gets to it (a PING timing out on a loaded machine would
        // not prove the sleep had begun).
        async let sleeping = client.customCommand(["DEBUG", "SLEEP", "2"], timeout: .seconds(10))
        try await Polling.waitUntil("the sleep is in flight", timeout: .seconds(5), interval: .milliseconds(2)) {
            client.routing.all[0].inflightCount == 1
        }
        var behind: GlideError?
        do {
            _ = try await client.customCommand(["GET", "diagnosed"], timeout: .milliseconds(150))
        } catch {
            behind = error
        }
        _ = try await sleeping
        #expect(behind?.code == .timeout)
        #expect(
            behind?.message.contains("sent behind 1 request still unanswered, and nothing came back") == true,
            "\(String(describing: behind))")
        // The first GET's late reply (sent as the sleep ended) is read before the next step: a
        // PING's reply comes after it on the connection.
        #expect(try await client.ping() == "PONG")
        // A stopped server answers nothing at all.
        server.freeze()
        var stalled: GlideError?
        do {
            _ = try await client.customCommand(["GET", "diagnosed"], timeout: .milliseconds(150))
        } catch {
            stalled = error
        }
        server.thaw()
        #expect(stalled?.code == .timeout)
        #expect(stalled?.message.contains("sent, and nothing came back since it was queued") == true, "\(String(describing: stalled))")
        print("timeout diagnostics: \(behind?.message ?? "-") | \(stalled?.message ?? "-")")
        await client.close()
        await admin.close()
    }

    @Test func nodeLatencyFollowsTheServersPaceAndATimeoutCarriesIt() async throws {
        let server = try await TestServer.startValkey(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let client = try await server.client()
        // 80 requests that each keep the server 20 ms: one in eight is timed (by request id, which
        // the client's own checks, a ROLE every few seconds, take too: a sample may go to one).
        for _ in 0..<80 { _ = try await client.customCommand(["DEBUG", "SLEEP", "0.02"], timeout: .seconds(5)) }
        let address = "127.0.0.1:\(server.port)"
        let slow = try #require(client.nodeLatencies()[address], "\(client.nodeLatencies())")
        #expect(slow.samples >= 8)
        #expect(slow.p50 >= .milliseconds(20), "\(slow)")
        // Then a fast stretch: the median comes down with it.
        for _ in 0..<800 { _ = try await client.ping() }
        let mixed = try #require(client.nodeLatencies()[address])
        #expect(mixed.samples >= slow.samples + 90)
        #expect(mixed.p50 < .milliseconds(20), "\(mixed)")
        #expect(mixed.p999 >= .milliseconds(20), "\(mixed)")
        // A request to the stopped server times out, carrying the node's pace and a timeout for it.
        server.freeze()
        var stalled: GlideError?
        do {
            _ = try await client.customCommand(["GET", "paced"], timeout: .milliseconds(150))
        } catch {
            stalled = error
        }
        server.thaw()
        let carried = try #require(stalled?.nodeLatency, "\(String(describing: stalled))")
        #expect(carried.samples >= mixed.samples)
        #expect(carried.suggestedTimeout >= carried.p999 * 3)
        #expect(stalled?.message.contains("Over the last minute this node answered with p50") == true)
        print("node latency: \(slow) while sleeping; \(mixed) after; the timeout said: \(stalled?.message ?? "-")")
        await client.close()
    }
}
