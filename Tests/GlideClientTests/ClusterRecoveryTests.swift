import GlideTransport
@testable import GlideClient
import GlideTopology
import Testing

@Suite struct ClusterRecoveryTests {
    let node = NodeAddress(host: "10.0.0.1", port: 7000)

    func decide(_ message: String, redirections: Int = 0, waits: Int = 0) -> ClusterRecovery {
        ClusterRecovery.decide(serverError: message, from: node, redirections: redirections, waits: waits)
    }

    @Test func redirectionsNameTheirTargets() {
        #expect(decide("MOVED 3999 127.0.0.1:6381") == .moved(slot: 3999, to: NodeAddress(host: "127.0.0.1", port: 6381)))
        #expect(decide("ASK 3999 127.0.0.1:6381") == .ask(NodeAddress(host: "127.0.0.1", port: 6381)))
        // An unknown endpoint is written with an empty host: the answering node's host.
        #expect(decide("MOVED 12 :7002") == .moved(slot: 12, to: NodeAddress(host: "10.0.0.1", port: 7002)))
        #expect(decide("MOVED 12 ::1:7002") == .moved(slot: 12, to: NodeAddress(host: "::1", port: 7002)))
        // Malformed redirections and exhausted budgets end the request.
        #expect(decide("MOVED 99999 127.0.0.1:6381") == .fail)
        #expect(decide("MOVED x 127.0.0.1:6381") == .fail)
        #expect(decide("MOVED 1") == .fail)
        #expect(decide("MOVED 1 127.0.0.1:6381", redirections: ClusterRecovery.maximumRedirections) == .fail)
    }

    @Test func transientConditionsWaitWithGrowingPauses() {
        #expect(decide("TRYAGAIN Multiple keys request during rehashing of slot") == .retry(after: .milliseconds(10), refresh: false))
        #expect(decide("LOADING Valkey is loading the dataset in memory", waits: 1) == .retry(after: .milliseconds(20), refresh: false))
        #expect(decide("CLUSTERDOWN The cluster is down", waits: 2) == .retry(after: .milliseconds(40), refresh: true))
        #expect(decide("MASTERDOWN Link with MASTER is down") == .retry(after: .milliseconds(10), refresh: true))
        #expect(decide("READONLY You can't write against a read only replica.", waits: 9) == .retry(after: .milliseconds(160), refresh: true))
        #expect(decide("WRONGTYPE Operation against a key holding the wrong kind of value") == .fail)
        #expect(decide("CROSSSLOT Keys in request don't hash to the same slot") == .fail)
        #expect(decide("") == .fail)
    }

    @Test func connectionFailuresRetryOnlyWhatSurelyDidNotRun() {
        let refused = GlideError(.connectionFailed, "refused")
        let lost = GlideError(.connectionClosed, "reset")
        #expect(ClusterRecovery.decide(connectionError: refused, readOnly: false, waits: 0) == .retry(after: .milliseconds(10), refresh: true))
        #expect(ClusterRecovery.decide(connectionError: lost, readOnly: true, waits: 0) == .retry(after: .milliseconds(10), refresh: true))
        #expect(ClusterRecovery.decide(connectionError: lost, readOnly: true, waits: 2) == .fail)
        #expect(ClusterRecovery.decide(connectionError: lost, readOnly: false, waits: 0) == .fail)
        #expect(ClusterRecovery.decide(connectionError: GlideError(.timeout, "late"), readOnly: true, waits: 0) == .fail)
    }
}
