import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Every state of the connection state machine against every event that can reach it: the state
/// it ends in and the kind of action it returns. The transcript tests follow the interesting paths
/// in detail; this table makes sure no pairing is left undecided.
@Suite(.timeLimit(.minutes(2))) struct ConnectionTransitionTests {
    /// A standalone client's policy: supervised, requests wait through failed attempts.
    static let standalone = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: true)

    /// A machine brought to `state` (named as in `Machine.Phase`, plus `failed+retry`), on attempt
    /// 1 unless it never connected.
    static func machine(in state: String) -> Machine {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 10, policy: standalone)
        let refused = GlideErrorSummary(.connectionFailed, "refused")
        switch state {
        case "idle":
            break
        case "connecting":
            _ = machine.connectNow()
            _ = machine.attemptStarted(generation: 1, deadline: t0 + .seconds(2))
        case "handshaking":
            _ = machine.connectNow()
            _ = machine.attemptStarted(generation: 1, deadline: t0 + .seconds(2))
            _ = machine.connected(generation: 1, stream: "s1")
        case "ready":
            machine = readyMachine(policy: standalone)
        case "disconnected":
            _ = machine.connectNow()
            _ = machine.connectFailed(generation: 1, refused)
        case "failed", "failed+retry":
            _ = machine.connectNow()
            _ = machine.connectFailed(generation: 1, GlideErrorSummary(.authenticationFailed, "WRONGPASS"))
            if state == "failed+retry" { machine.allowRetryOnDemand() }
        case "closed":
            _ = machine.close()
        default:
            Issue.record("no such state \(state)")
        }
        return machine
    }

    /// Applies `event` to `machine`; the kind of action it returned.
    static func apply(_ event: String, to machine: inout Machine) -> String {
        let generation = machine.generation
        let action: Machine.Action
        switch event {
        case "connectNow":
            return machine.connectNow().map { "connect(\($0))" } ?? "none"
        case "connectIfIdle":
            return machine.connectIfIdle().map { "connect(\($0))" } ?? "none"
        case "awaitConnection":
            action = machine.awaitConnection("w")
        case "enqueue":
            action = machine.enqueue("r", id: 99, deadline: t0 + .seconds(1), encode: request("R;")).action
        case "connected":
            action = machine.connected(generation: generation, stream: "s")
        case "connectFailed":
            action = machine.connectFailed(generation: generation, GlideErrorSummary(.connectionFailed, "refused"))
        case "lastHandshakeReply":
            action = machine.handshake(generation: generation, stream: "s")
        case "connectionLost":
            action = machine.connectionLost(generation: generation, GlideErrorSummary(.connectionClosed, "gone"))
        case "staleLoss":
            action = machine.connectionLost(generation: generation - 1, GlideErrorSummary(.connectionClosed, "old"))
        case "reply":
            action = machine.replyReceived(ok, generation: generation)
        case "attemptTimer":
            action = machine.timerFired(now: t0 + .seconds(2)).action
        case "close":
            action = machine.close()
        default:
            Issue.record("no such event \(event)")
            return "?"
        }
        return kind(action)
    }

    static func kind(_ action: Machine.Action) -> String {
        switch action {
        case .none: "none"
        case .write: "write"
        case .awaitWritable: "awaitWritable"
        case .connect(let generation): "connect(\(generation))"
        case .sendHandshake: "sendHandshake"
        case .discard: "discard"
        case .ready: "ready"
        case .resume: "resume"
        case .fail(_, let summary): "fail(\(summary.code))"
        case .push: "push"
        case .unexpectedReply: "unexpectedReply"
        case .unblock: "unblock"
        case .loseConnection: "loseConnection"
        case .tearDown(let teardown): teardown.wasAttempt ? "attemptFailed" : "tearDown"
        }
    }

    /// `state`, `event`: the state it ends in, and the action.
    static let table: [(String, String, String)] = [
        ("idle", "connectNow", "connecting connect(1)"),
        ("idle", "connectIfIdle", "connecting connect(1)"),
        ("idle", "awaitConnection", "connecting connect(1)"),
        ("idle", "enqueue", "connecting connect(1)"),
        ("idle", "connected", "idle discard"),
        ("idle", "connectFailed", "idle none"),
        ("idle", "connectionLost", "idle none"),
        ("idle", "reply", "idle none"),
        ("idle", "close", "closed tearDown"),

        ("connecting", "connectNow", "connecting none"),
        ("connecting", "connectIfIdle", "connecting none"),
        ("connecting", "awaitConnection", "connecting none"),
        ("connecting", "enqueue", "connecting none"),
        ("connecting", "connected", "handshaking sendHandshake"),
        ("connecting", "lastHandshakeReply", "ready ready"),
        ("connecting", "connectFailed", "disconnected attemptFailed"),
        ("connecting", "connectionLost", "connecting none"),
        ("connecting", "reply", "connecting none"),
        ("connecting", "attemptTimer", "disconnected attemptFailed"),
        ("connecting", "close", "closed tearDown"),

        ("handshaking", "connectNow", "handshaking none"),
        ("handshaking", "awaitConnection", "handshaking none"),
        ("handshaking", "enqueue", "handshaking none"),
        ("handshaking", "connected", "handshaking discard"),
        ("handshaking", "connectFailed", "handshaking none"),
        ("handshaking", "connectionLost", "disconnected attemptFailed"),
        ("handshaking", "staleLoss", "handshaking none"),
        ("handshaking", "reply", "handshaking none"),
        ("handshaking", "attemptTimer", "disconnected attemptFailed"),
        ("handshaking", "close", "closed tearDown"),

        ("ready", "connectNow", "ready none"),
        ("ready", "connectIfIdle", "ready none"),
        ("ready", "awaitConnection", "ready resume"),
        ("ready", "enqueue", "ready write"),
        ("ready", "connected", "ready discard"),
        ("ready", "connectFailed", "ready none"),
        ("ready", "connectionLost", "disconnected tearDown"),
        ("ready", "staleLoss", "ready none"),
        ("ready", "reply", "ready unexpectedReply"),
        ("ready", "attemptTimer", "ready none"),
        ("ready", "close", "closed tearDown"),

        ("disconnected", "connectNow", "connecting connect(2)"),
        ("disconnected", "connectIfIdle", "disconnected none"),
        ("disconnected", "awaitConnection", "connecting connect(2)"),
        ("disconnected", "enqueue", "disconnected none"),
        ("disconnected", "connected", "disconnected discard"),
        ("disconnected", "connectionLost", "disconnected none"),
        ("disconnected", "reply", "disconnected none"),
        ("disconnected", "close", "closed tearDown"),

        ("failed", "connectNow", "connecting connect(2)"),
        ("failed", "connectIfIdle", "failed none"),
        ("failed", "awaitConnection", "connecting connect(2)"),
        ("failed", "enqueue", "failed fail(authentication failed)"),
        ("failed", "connected", "failed discard"),
        ("failed", "connectionLost", "failed none"),
        ("failed", "close", "closed tearDown"),
        ("failed+retry", "enqueue", "connecting connect(2)"),
        ("failed+retry", "connectIfIdle", "failed none"),

        ("closed", "connectNow", "closed none"),
        ("closed", "connectIfIdle", "closed none"),
        ("closed", "awaitConnection", "closed fail(client closed)"),
        ("closed", "enqueue", "closed fail(client closed)"),
        ("closed", "connected", "closed discard"),
        ("closed", "connectionLost", "closed none"),
        ("closed", "reply", "closed none"),
        ("closed", "close", "closed none"),
    ]

    @Test(arguments: table.indices)
    func everyStateAnswersEveryEvent(_ row: Int) {
        let (state, event, expected) = Self.table[row]
        var machine = Self.machine(in: state)
        let action = Self.apply(event, to: &machine)
        #expect("\(machine.phase) \(action)" == expected, "\(state) + \(event)")
    }

    /// Each state carries only its own data: a stream while handshaking or ready, the server's
    /// info only while ready, a reason only where there is no connection.
    @Test func eachStateCarriesOnlyItsOwnData() {
        for state in ["idle", "connecting", "handshaking", "ready", "disconnected", "failed", "closed"] {
            let machine = Self.machine(in: state)
            #expect((machine.stream != nil) == ["handshaking", "ready"].contains(state), "\(state)")
            #expect((machine.info != nil) == (state == "ready"), "\(state)")
            #expect((machine.lastFailure != nil) == ["disconnected", "failed"].contains(state), "\(state)")
        }
    }

    /// The reason a connection was lost is kept through the next attempt, so a request that
    /// expires during it says why there is no connection; a ready connection forgets it.
    @Test func theLastFailureOutlivesTheNextAttemptUntilReady() {
        var machine = Self.machine(in: "disconnected")
        _ = machine.connectNow()
        _ = machine.enqueue("r", id: 1, deadline: t0 + .seconds(1), encode: request("R;"))
        let expired = machine.timerFired(now: t0 + .seconds(1))
        guard case .failure(_, let summary)? = expired.resumptions.first else {
            Issue.record("expected the request to expire")
            return
        }
        #expect(summary.message.contains("refused"))
        _ = machine.handshake(generation: 2, stream: "s2")
        #expect(machine.lastFailure == nil)
    }
}
