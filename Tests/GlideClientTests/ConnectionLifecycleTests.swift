import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Transcripts of the connection's life between connections: attempts, losses, reconnections,
/// definitive failures, cancellation and heartbeats.
@Suite(.timeLimit(.minutes(2))) struct ConnectionLifecycleTests {
    let standalone = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: true)
    let cluster = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: false)
    let refused = GlideErrorSummary(.connectionFailed, "could not connect: refused")
    let lostSummary = GlideErrorSummary(.connectionClosed, "the server closed the connection")

    @Test func awaitConnectionGetsTheAttemptsOwnOutcomeWhateverTheRequestTimers() {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 10)
        guard case .connect(let generation) = machine.awaitConnection("create") else {
            Issue.record("expected an attempt")
            return
        }
        #expect(machine.attemptStarted(generation: generation, deadline: t0 + .milliseconds(300)) == t0 + .milliseconds(300))
        // A request queued meanwhile, with a deadline before the attempt's: it expires alone.
        _ = machine.enqueue("get", deadline: t0 + .milliseconds(100), encode: request("GET"))
        let requestTimer = machine.timerFired(now: t0 + .milliseconds(100))
        #expect(requestTimer.resumptions.map(\.summary) == ["get: connection failed"])
        #expect(requestTimer.action.isNone)
        // The attempt's own deadline ends it, with its own outcome: a connect timeout.
        let attempt = machine.timerFired(now: t0 + .milliseconds(300)).action.teardown
        #expect(attempt?.resumptions.map(\.summary) == ["create: connection failed"])
        #expect(attempt?.summary.transportError?.kind == .connectTimedOut)
        #expect(attempt?.wasAttempt == true)
        #expect(machine.phase == .idle)
        // A late result of the given-up attempt is discarded.
        guard case .discard = machine.connected(generation: generation, stream: "late") else {
            Issue.record("a stale attempt was used")
            return
        }
    }

    @Test func onlyAConnectionThatNeverConnectedIsStartedIfIdle() {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 10, policy: standalone)
        #expect(machine.connectIfIdle() == 1)
        #expect(machine.connectIfIdle() == nil)  // connecting
        _ = machine.connectFailed(generation: 1, refused)
        #expect(machine.connectIfIdle() == nil)  // disconnected: the supervisor's backoff decides
    }

    @Test func aReadyConnectionAnswersAwaitConnectionAtOnce() {
        var machine = readyMachine()
        guard case .resume("again", _) = machine.awaitConnection("again") else {
            Issue.record("expected ready")
            return
        }
    }

    @Test func handshakeMustFinishWithinTheConnectTimeout() {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 10, connectionTimeout: .seconds(2))
        _ = machine.connectNow()
        _ = machine.attemptStarted(generation: 1, deadline: t0 + .seconds(2))
        _ = machine.connected(generation: 1, stream: "s1")
        #expect(machine.timerFired(now: t0 + .seconds(1)).action.isNone)
        let timedOut = machine.timerFired(now: t0 + .seconds(2)).action.teardown
        #expect(timedOut?.stream == "s1")
        #expect(timedOut?.summary.message.contains("handshake") == true)
    }

    @Test func aSupervisedLossFailsWhatWasSentAndKeepsWhatWasNot() {
        var machine = readyMachine(policy: standalone)
        var job = machine.enqueue("sent", deadline: t0 + .seconds(1), encode: request("S;")).action.job!
        // The caller is still writing "sent": later requests wait in the outbound buffer.
        #expect(machine.enqueue("queued", deadline: t0 + .seconds(1), encode: request("Q;")).action.isNone)
        let lost = machine.connectionLost(generation: 1, lostSummary)
        #expect(lost.tornDown == ["sent: connection closed"])
        #expect(lost.teardown?.stream == "s1")
        #expect(lost.teardown?.wasAttempt == false)
        #expect(machine.phase == .disconnected)
        // The old writer reporting in later changes nothing.
        job.writes = PendingWrites()
        #expect(machine.writeFinished(&job, mayContinue: true).isIdle)
        // New requests wait too; the supervisor reconnects, and both go out on the new connection.
        #expect(machine.enqueue("new", deadline: t0 + .seconds(1), encode: request("N;")).action.isNone)
        #expect(machine.connectNow() == 2)
        guard case .ready(let flushed, _, _) = machine.handshake(generation: 2, stream: "s2") else {
            Issue.record("expected ready")
            return
        }
        #expect(wire(flushed) == "Q;N;")
        #expect(flushed?.stream == "s2")
    }

    @Test func anUnsupervisedLossFailsEverythingAndTheNextRequestReconnects() {
        var machine = readyMachine()
        _ = machine.enqueue("sent", deadline: t0 + .seconds(1), encode: request("S"))
        let lost = machine.connectionLost(generation: 1, lostSummary)
        #expect(lost.tornDown == ["sent: connection closed"])
        #expect(machine.phase == .idle)
        #expect(machine.connectionLost(generation: 1, lostSummary).isNone)  // once only
        #expect(machine.enqueue("next", deadline: t0 + .seconds(1), encode: request("N")).action.connectGeneration == 2)
        // An event of the first connection can't touch the second.
        #expect(machine.connectFailed(generation: 1, refused).isNone)
        #expect(machine.connectFailed(generation: 2, refused).tornDown == ["next: connection failed"])
    }

    @Test func standaloneRequestsWaitThroughFailedAttemptsUntilTheirDeadline() {
        var machine = readyMachine(policy: standalone)
        _ = machine.connectionLost(generation: 1, lostSummary)
        _ = machine.enqueue("waiting", deadline: t0 + .seconds(1), encode: request("W;"))
        #expect(machine.connectNow() == 2)
        let failed = machine.connectFailed(generation: 2, refused)
        #expect(failed.tornDown.isEmpty)  // it waits on
        #expect(failed.teardown?.wasAttempt == true)
        #expect(machine.phase == .disconnected)
        // At its deadline it fails as never sent, saying why there was no connection, and its bytes go.
        let expired = machine.timerFired(now: t0 + .seconds(1))
        #expect(expired.resumptions.map(\.summary) == ["waiting: connection failed"])
        if case .failure(_, let summary)? = expired.resumptions.first {
            #expect(summary.message.contains("not sent") && summary.message.contains("refused"))
        }
        _ = machine.enqueue("later", deadline: t0 + .seconds(5), encode: request("L;"))
        #expect(machine.connectNow() == 3)
        guard case .ready(let flushed, _, _) = machine.handshake(generation: 3, stream: "s3") else {
            Issue.record("expected ready")
            return
        }
        #expect(wire(flushed) == "L;")  // the expired request never runs
    }

    @Test func clusterRequestsFailAtOnceWhenAnAttemptFails() {
        var machine = readyMachine(policy: cluster)
        _ = machine.connectionLost(generation: 1, lostSummary)
        #expect(machine.connectNow() == 2)  // the supervisor reconnects at once
        _ = machine.enqueue("queued", deadline: t0 + .seconds(1), encode: request("Q"))
        #expect(machine.connectFailed(generation: 2, refused).tornDown == ["queued: connection failed"])
        // Until the next attempt, requests fail at once: the cluster client retries them elsewhere.
        #expect(machine.enqueue("next", deadline: t0 + .seconds(1), encode: request("N")).action.failure?.1.code == .connectionFailed)
    }

    @Test func aDefinitiveFailureFailsEverythingAndStopsUntilARetryIsAllowed() {
        var machine = readyMachine(policy: standalone)
        _ = machine.connectionLost(generation: 1, lostSummary)
        _ = machine.enqueue("waiting", deadline: t0 + .seconds(1), encode: request("W"))
        _ = machine.connectNow()
        _ = machine.connected(generation: 2, stream: "s2")
        guard
            case .tearDown(let teardown) = machine.handshakeReceived(reply("-WRONGPASS invalid username-password pair\r\n"), generation: 2)
        else {
            Issue.record("expected the attempt to fail")
            return
        }
        #expect(teardown.resumptions.map(\.summary) == ["waiting: authentication failed"])
        #expect(teardown.summary.isDefinitive)
        #expect(machine.phase == .failed)
        #expect(machine.enqueue("fast", deadline: t0 + .seconds(1), encode: request("F")).action.failure?.1.code == .authenticationFailed)
        #expect(machine.connectNow() == 3)  // the supervisor may still try (a new password)
    }

    @Test func failUnsentHandsWaitingRequestsBackToTheirCallers() {
        var machine = readyMachine(policy: standalone)
        _ = machine.connectionLost(generation: 1, lostSummary)
        _ = machine.enqueue("write", deadline: t0 + .seconds(1), encode: request("W"))
        let moved = GlideErrorSummary(.connectionFailed, "not sent: the primary moved")
        #expect(machine.failUnsent(moved).map(\.summary) == ["write: connection failed"])
        #expect(machine.inflightCount == 0)
    }

    // MARK: Cancellation

    @Test func aCancelledUnsentRequestIsDroppedAndNeverSent() {
        var machine = readyMachine(policy: standalone)
        _ = machine.connectionLost(generation: 1, lostSummary)
        _ = machine.enqueue("keep1", deadline: t0 + .seconds(5), encode: request("K1;"))
        _ = machine.enqueue("drop", deadline: t0 + .seconds(5), encode: request("DROP;"))
        let drop = machine.lastID
        _ = machine.enqueue("keep2", deadline: t0 + .seconds(5), encode: request("K2;"))
        let keep2 = machine.lastID
        guard case .fail("drop", _) = machine.cancel(drop) else {
            Issue.record("expected the cancelled waiter back")
            return
        }
        #expect(machine.inflightCount == 2)
        _ = machine.connectNow()
        guard case .ready(let flushed, _, _) = machine.handshake(generation: 2, stream: "s2") else {
            Issue.record("expected ready")
            return
        }
        #expect(wire(flushed) == "K1;K2;")
        #expect(machine.replyReceived(ok, generation: 2).resumed?.0 == "keep1")
        #expect(machine.replyReceived(ok, generation: 2).resumed?.0 == "keep2")
        guard case .none = machine.cancel(keep2) else {  // already answered: nothing to cancel
            Issue.record("a finished request was cancelled")
            return
        }
    }

    @Test func aCancelledSentRequestsReplyIsDiscarded() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("get", deadline: t0 + .seconds(1), encode: request("GET"))
        guard case .fail("get", _) = machine.cancel(machine.lastID) else {
            Issue.record("expected the waiter back")
            return
        }
        _ = machine.enqueueWritten("next", deadline: t0 + .seconds(1), encode: request("NEXT"))
        #expect(machine.replyReceived(reply("$3\r\nold\r\n"), generation: 1).isNone)
        #expect(machine.replyReceived(ok, generation: 1).resumed?.0 == "next")
    }

    @Test func aCancelledBlockingCommandIsUnblockedAndANullReplyMeansCancelled() {
        var machine = readyMachine()
        _ = machine.enqueue("blpop", deadline: .distantFuture, blocking: true, encode: request("BLPOP"))
        let id = machine.lastID
        guard case .unblock(clientID: 7, requestID: id, generation: 1) = machine.cancel(id) else {
            Issue.record("expected CLIENT UNBLOCK 7")
            return
        }
        #expect(machine.isUnblocking(id))
        guard case .fail("blpop", let summary) = machine.replyReceived(reply("_\r\n"), generation: 1) else {
            Issue.record("expected the cancellation")
            return
        }
        #expect(summary.code == .cancelled)
        #expect(!machine.isUnblocking(id))
    }

    @Test func aValueTheServerHandedBeforeTheUnblockReachesTheCaller() {
        var machine = readyMachine()
        _ = machine.enqueue("blpop", deadline: .distantFuture, blocking: true, encode: request("BLPOP"))
        _ = machine.cancel(machine.lastID)
        #expect(machine.replyReceived(reply("*2\r\n$1\r\nq\r\n$4\r\nitem\r\n"), generation: 1).resumed?.0 == "blpop")
    }

    @Test func aBlockingCommandOnAConnectionWithoutAnIdIsFreedByDroppingTheConnection() {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 10)
        _ = machine.connectNow()
        _ = machine.connected(generation: 1, stream: "s1")
        _ = machine.handshakeReceived(helloMap, generation: 1)  // no id
        _ = machine.handshakeReceived(ok, generation: 1)
        _ = machine.handshakeReceived(ok, generation: 1)
        _ = machine.enqueue("blpop", deadline: .distantFuture, blocking: true, encode: request("BLPOP"))
        guard case .loseConnection(generation: 1, _) = machine.cancel(machine.lastID) else {
            Issue.record("expected the connection to be dropped")
            return
        }
        #expect(machine.connectionLost(generation: 1, GlideErrorSummary(.connectionClosed, "dropped")).tornDown == ["blpop: cancelled"])
    }

    // MARK: Heartbeats

    @Test func heartbeatsCheckOnlyIdleConnectionsAndASilentPeerIsDeclaredDead() {
        var machine = readyMachine()
        // First check: nothing was received since the connection opened, and nothing waits: ping.
        let ping = machine.heartbeat(id: 100, deadline: t0 + .seconds(1))
        #expect(wire(ping?.action.job) == "*1\r\n$4\r\nPING\r\n")
        // Its reply counts as traffic: the next check finds the connection busy, and sends nothing.
        var job = ping!.action.job!
        job.writes = PendingWrites()
        _ = machine.writeFinished(&job, mayContinue: true)
        #expect(machine.replyReceived(reply("+PONG\r\n"), generation: 1).isNone)
        #expect(machine.heartbeat(id: 101, deadline: t0 + .seconds(4)) == nil)
        // Quiet since: ping again. A request waiting suppresses the check.
        _ = machine.enqueue("blocked", deadline: .distantFuture, blocking: true, encode: request("BLPOP"))
        #expect(machine.heartbeat(id: 102, deadline: t0 + .seconds(7)) == nil)
    }

    @Test func anUnansweredHeartbeatMakesTheConnectionStale() {
        var machine = readyMachine()
        #expect(machine.heartbeat(id: 100, deadline: t0 + .seconds(1))?.armTimer == t0 + .seconds(1))
        #expect(machine.timerFired(now: t0 + .seconds(1)).action.isStale == false)
        #expect(machine.timerFired(now: t0 + .seconds(3)).action.isStale)
    }
}
