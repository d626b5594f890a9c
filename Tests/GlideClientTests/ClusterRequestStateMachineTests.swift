import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Transcripts of `ClusterRequestStateMachine`: each event a request's attempts can meet, and
/// what the machine does about it. Steps are written as text (`"move 100 → 10.0.0.2:7001,
/// refresh, send shard 100"`), so a transcript reads like the request's story.
@Suite(.timeLimit(.minutes(2))) struct ClusterRequestStateMachineTests {
    typealias Machine = ClusterRequestStateMachine
    let a = NodeAddress(host: "10.0.0.1", port: 7000)
    let b = NodeAddress(host: "10.0.0.2", port: 7001)
    let t0 = Deadline(uptimeNanoseconds: 1_000_000_000)

    func machine(
        _ target: Machine.Target, readOnly: Bool = false, replicaNeedsReadOnly: Bool = false,
        timeout: Duration = .seconds(1)
    ) -> Machine {
        Machine(target: target, readOnly: readOnly, replicaNeedsReadOnly: replicaNeedsReadOnly, deadline: t0 + timeout)
    }

    func ms(_ milliseconds: Int) -> Deadline { t0 + .milliseconds(milliseconds) }

    // MARK: Starting

    @Test func aRequestStartsAtItsTarget() {
        #expect(text(machine(.slot(100, replica: false)).start()) == "send shard 100")
        #expect(text(machine(.slot(100, replica: true), readOnly: true).start()) == "send replica of 100")
        #expect(
            text(machine(.slot(100, replica: true), readOnly: true, replicaNeedsReadOnly: true).start())
                == "send READONLY + replica of 100")
        #expect(text(machine(.node(a)).start()) == "send 10.0.0.1:7000")
        var m = machine(.slot(100, replica: false))
        #expect(text(m.replied()) == "succeed")
        #expect(
            text(m.repliedError("WRONGTYPE Operation against a key holding the wrong kind of value", from: a, now: t0))
                == "reply is the error")
        #expect(text(m.repliedError("CROSSSLOT Keys in request don't hash to the same slot", from: a, now: t0)) == "reply is the error")
        #expect(text(m.repliedError("", from: a, now: t0)) == "reply is the error")
    }

    // MARK: Redirections

    @Test func movedPatchesTheMapAsksForARefreshAndFollows() {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.repliedError("MOVED 100 10.0.0.2:7001", from: a, now: t0)) == "move 100 → 10.0.0.2:7001, refresh, send shard 100")
        // An empty host is the answering node's host.
        #expect(text(m.repliedError("MOVED 100 :7005", from: b, now: t0)) == "move 100 → 10.0.0.2:7005, refresh, send shard 100")
        #expect(text(m.replied()) == "succeed")
        #expect(m.redirections == 2)
    }

    @Test func aReplicaReadMovedGoesToTheNewOwnersPrimary() {
        var m = machine(.slot(7, replica: true), readOnly: true, replicaNeedsReadOnly: true)
        #expect(text(m.repliedError("MOVED 7 10.0.0.2:7001", from: a, now: t0)) == "move 7 → 10.0.0.2:7001, refresh, send shard 7")
    }

    @Test func redirectionsEndAfterTheirBudgetAndMalformedOnesAreTheAnswer() {
        var m = machine(.slot(100, replica: false))
        for _ in 0..<Machine.maximumRedirections {
            #expect(text(m.repliedError("MOVED 100 10.0.0.2:7001", from: a, now: t0)).hasSuffix("send shard 100"))
        }
        #expect(text(m.repliedError("MOVED 100 10.0.0.1:7000", from: b, now: t0)) == "reply is the error")
        var n = machine(.slot(100, replica: false))
        #expect(text(n.repliedError("MOVED 99999 10.0.0.2:7001", from: a, now: t0)) == "reply is the error")
        #expect(text(n.repliedError("MOVED x 10.0.0.2:7001", from: a, now: t0)) == "reply is the error")
        #expect(text(n.repliedError("ASK 3", from: a, now: t0)) == "reply is the error")
    }

    @Test func askGoesOnceWithAskingThenTryAgainStaysAtTheTargetAndMovedFollows() {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.repliedError("ASK 100 10.0.0.2:7001", from: a, now: t0)) == "send ASKING + 10.0.0.2:7001")
        // Keys split by the migration: the target says TRYAGAIN, and is asked again after a pause.
        #expect(text(m.repliedError("TRYAGAIN Multiple keys request during rehashing of slot", from: b, now: t0)) == "wait 10 ms")
        #expect(text(m.waitEnded()) == "send ASKING + 10.0.0.2:7001")
        // The migration finished meanwhile: the source now answers MOVED.
        #expect(
            text(m.repliedError("MOVED 100 10.0.0.2:7001", from: b, now: ms(10))) == "move 100 → 10.0.0.2:7001, refresh, send shard 100")
        #expect(text(m.replied()) == "succeed")
    }

    @Test func tryAgainAtTheSourceWaitsThereWithoutARefresh() {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.repliedError("TRYAGAIN Multiple keys request during rehashing of slot", from: a, now: t0)) == "wait 10 ms")
        #expect(text(m.waitEnded()) == "send shard 100")
    }

    @Test func aNodeTheCallerChoseIsNeverRedirected() {
        var m = machine(.node(a))
        #expect(text(m.repliedError("MOVED 100 10.0.0.2:7001", from: a, now: t0)) == "reply is the error")
        #expect(text(m.repliedError("ASK 100 10.0.0.2:7001", from: a, now: t0)) == "reply is the error")
        #expect(text(m.repliedError("LOADING Valkey is loading the dataset in memory", from: a, now: t0)) == "wait 10 ms")
        #expect(text(m.waitEnded()) == "send 10.0.0.1:7000")
        #expect(text(m.failed(GlideError(.connectionFailed, "refused"), at: a, now: ms(10)), since: ms(10)) == "refresh, wait 20 ms")
        #expect(text(m.waitEnded()) == "send 10.0.0.1:7000")
    }

    // MARK: Waiting out conditions

    @Test func failoverConditionsWaitWithGrowingPausesAndRefresh() {
        var m = machine(.slot(100, replica: false), timeout: .seconds(5))
        var now = t0
        let pauses = [10, 20, 40, 80, 160, 160]
        for (index, message) in [
            "CLUSTERDOWN The cluster is down", "MASTERDOWN Link with MASTER is down",
            "READONLY You can't write against a read only replica.",
            "CLUSTERDOWN Hash slot not served", "CLUSTERDOWN The cluster is down",
            "CLUSTERDOWN The cluster is down",
        ].enumerated() {
            #expect(text(m.repliedError(message, from: a, now: now), since: now) == "refresh, wait \(pauses[index]) ms")
            #expect(text(m.waitEnded()) == "send shard 100")
            now = now + .milliseconds(pauses[index])
        }
        #expect(m.waits == 6)
    }

    @Test func aReplicaThatIsLoadingHandsTheReadToThePrimary() {
        var m = machine(.slot(100, replica: true), readOnly: true, replicaNeedsReadOnly: true)
        #expect(text(m.repliedError("LOADING Valkey is loading the dataset in memory", from: b, now: t0)) == "wait 10 ms")
        #expect(text(m.waitEnded()) == "send shard 100")
    }

    @Test func theDeadlineEndsAWaitAndTheErrorNamesTheCondition() throws {
        var m = machine(.slot(100, replica: false), timeout: .milliseconds(25))
        #expect(text(m.repliedError("CLUSTERDOWN The cluster is down", from: a, now: t0)) == "refresh, wait 10 ms")
        // The next pause (20 ms) would end after the deadline (25 ms).
        let step = m.repliedError("CLUSTERDOWN The cluster is down", from: a, now: ms(10))
        #expect(text(step) == "refresh, fail timeout")
        let error = try #require(failure(step))
        #expect(error.serverCode == "CLUSTERDOWN")
        #expect(error.address == a.description)
        #expect(error.message.contains("2 replies of: CLUSTERDOWN"))
    }

    @Test func anOpenCircuitBreakerFailsTheRequestAndAsksForARefresh() {
        var m = machine(.slot(100, replica: false))
        let step = m.failed(GlideError(.circuitOpen, "the circuit breaker of a is open"), at: a, now: t0)
        #expect(text(step) == "refresh, fail circuit open")
    }

    @Test func aTimeoutDuringTheRetryAfterAWaitNamesTheCondition() throws {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.repliedError("TRYAGAIN Multiple keys request during rehashing of slot", from: a, now: t0)) == "wait 10 ms")
        _ = m.waitEnded()
        let error = try #require(failure(m.failed(GlideError(.timeout, "no reply within the request timeout"), at: a, now: ms(1000))))
        #expect(error.code == .timeout)
        #expect(error.serverCode == "TRYAGAIN")
        // Without a wait before it, a timeout is itself.
        var n = machine(.slot(100, replica: false))
        let plain = try #require(failure(n.failed(GlideError(.timeout, "no reply"), at: a, now: ms(1000))))
        #expect(plain.serverCode == nil)
        #expect(plain.message == "no reply")
    }

    @Test func waitsEndAfterTheirBudgetEvenWithoutADeadline() {
        var m = Machine(target: .slot(100, replica: false), readOnly: false, deadline: .distantFuture)
        for _ in 0..<Machine.maximumWaits {
            #expect(text(m.repliedError("TRYAGAIN again", from: a, now: t0)).hasPrefix("wait"))
        }
        #expect(text(m.repliedError("TRYAGAIN again", from: a, now: t0)) == "reply is the error")
    }

    @Test func aSlotNoShardServesWaitsForTheTopologyThenFailsAsRouting() throws {
        var m = machine(.slot(100, replica: false), timeout: .milliseconds(15))
        #expect(text(m.noNodeServesSlot(now: t0)) == "refresh, wait 10 ms")
        #expect(text(m.waitEnded()) == "send shard 100")
        let step = m.noNodeServesSlot(now: ms(10))
        #expect(text(step) == "refresh, fail routing")
        #expect(try #require(failure(step)).message.contains("slot 100"))
    }

    @Test func aCancelledWaitFailsAsCancelled() {
        var m = machine(.slot(100, replica: false))
        _ = m.repliedError("TRYAGAIN again", from: a, now: t0)
        #expect(text(m.waitCancelled()) == "fail cancelled")
    }

    // MARK: Connections

    @Test func aRequestThatNeverLeftTheClientIsSentAgainAfterARefreshWriteOrNot() {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.failed(GlideError(.connectionFailed, "refused"), at: a, now: t0)) == "refresh, wait 10 ms")
        #expect(text(m.waitEnded()) == "send shard 100")
        #expect(text(m.replied()) == "succeed")
    }

    @Test func aWriteLostInFlightIsNeverSentAgain() {
        var m = machine(.slot(100, replica: false))
        #expect(text(m.failed(GlideError(.connectionClosed, "reset"), at: a, now: t0)) == "refresh, fail connectionClosed")
    }

    @Test func aReadLostInFlightIsReadAgainTwiceAtMost() {
        var m = machine(.slot(100, replica: true), readOnly: true)
        #expect(text(m.failed(GlideError(.connectionClosed, "reset"), at: b, now: t0)) == "refresh, wait 10 ms")
        // A replica that failed a read hands it to the primary.
        #expect(text(m.waitEnded()) == "send shard 100")
        #expect(text(m.failed(GlideError(.connectionClosed, "reset"), at: a, now: ms(10)), since: ms(10)) == "refresh, wait 20 ms")
        #expect(text(m.waitEnded()) == "send shard 100")
        #expect(text(m.failed(GlideError(.connectionClosed, "reset"), at: a, now: ms(30))) == "refresh, fail connectionClosed")
    }

    @Test func aRetiredNodesReadGoesWhereTheMapNowSaysAndAWriteFailsTyped() throws {
        var read = machine(.slot(100, replica: false), readOnly: true)
        #expect(text(read.failed(GlideError(.clientClosed, "the client is closed"), at: a, now: t0)) == "send shard 100")
        var write = machine(.slot(100, replica: false))
        let step = write.failed(GlideError(.clientClosed, "the client is closed"), at: a, now: t0)
        #expect(text(step) == "fail connectionClosed")
        #expect(try #require(failure(step)).message.contains("may or may not have run"))
        var chosen = machine(.node(a), readOnly: true)
        #expect(text(chosen.failed(GlideError(.clientClosed, "the client is closed"), at: a, now: t0)) == "fail connectionClosed")
    }

    @Test func finalConnectionErrorsStand() {
        for code in [GlideError.Code.cancelled, .authenticationFailed, .tls, .configuration, .protocolError] {
            var m = machine(.slot(100, replica: false), readOnly: true)
            #expect(text(m.failed(GlideError(code, "x"), at: a, now: t0)) == "fail \(name(code))")
        }
    }

    @Test func theDeadlineStopsConnectionRetries() {
        var m = machine(.slot(100, replica: false), timeout: .milliseconds(5))
        #expect(text(m.failed(GlideError(.connectionFailed, "refused"), at: a, now: t0)) == "refresh, fail connectionFailed")
    }

    // MARK: Classification

    @Test func classificationReadsTheErrorWord() {
        #expect(
            ErrorReplyMeaning.classify(serverError: "MOVED 12 ::1:7002", from: a)
                == .moved(slot: 12, to: NodeAddress(host: "::1", port: 7002)))
        #expect(ErrorReplyMeaning.classify(serverError: "ASK 12 :7002", from: a) == .ask(NodeAddress(host: "10.0.0.1", port: 7002)))
        #expect(ErrorReplyMeaning.classify(serverError: "TRYAGAIN x", from: a) == .wait(refresh: false))
        #expect(ErrorReplyMeaning.classify(serverError: "LOADING x", from: a) == .wait(refresh: false))
        #expect(ErrorReplyMeaning.classify(serverError: "CLUSTERDOWN x", from: a) == .wait(refresh: true))
        #expect(ErrorReplyMeaning.classify(serverError: "MASTERDOWN x", from: a) == .wait(refresh: true))
        #expect(ErrorReplyMeaning.classify(serverError: "READONLY x", from: a) == .wait(refresh: true))
        #expect(ErrorReplyMeaning.classify(serverError: "ERR unknown command", from: a) == .final)
        // A standalone replica's redirection names its primary; an IPv6 host keeps its colons.
        #expect(
            ErrorReplyMeaning.classify(serverError: "REDIRECT 10.0.0.9:6380", from: a)
                == .redirect(to: NodeAddress(host: "10.0.0.9", port: 6380)))
        #expect(
            ErrorReplyMeaning.classify(serverError: "REDIRECT fe80::1:6380", from: a)
                == .redirect(to: NodeAddress(host: "fe80::1", port: 6380)))
        #expect(ErrorReplyMeaning.classify(serverError: "REDIRECT nowhere", from: a) == .final)
    }

    @Test func everyServersWordingOfAnUnknownCommandIsRecognised() {
        // Valkey and Redis 7; Redis 6.2, whose CLUSTER SHARDS refusal the cluster client must fall back from.
        #expect(ErrorReplyMeaning.isUnknownCommand("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."))
        #expect(ErrorReplyMeaning.isUnknownCommand("ERR Unknown subcommand or wrong number of arguments for 'SHARDS'. Try CLUSTER HELP."))
        #expect(ErrorReplyMeaning.isUnknownCommand("ERR unknown command 'FOO', with args beginning with: "))
        #expect(!ErrorReplyMeaning.isUnknownCommand("NOPERM this user has no permissions to run the 'cluster|shards' command"))
        #expect(!ErrorReplyMeaning.isUnknownCommand("ERR This instance has cluster support disabled"))
    }

    // MARK: Rendering

    func failure(_ step: Machine.Step) -> GlideError? {
        if case .fail(let error) = step.action { return error }
        return nil
    }

    /// A code's short name in transcripts.
    func name(_ code: GlideError.Code) -> String {
        let names: [GlideError.Code: String] = [
            .timeout: "timeout", .connectionClosed: "connectionClosed",
            .connectionFailed: "connectionFailed", .routing: "routing", .cancelled: "cancelled",
        ]
        return names[code] ?? code.description
    }

    /// A step as text: its side effects, then its action.
    func text(_ step: Machine.Step, since now: Deadline? = nil) -> String {
        var parts: [String] = []
        if let move = step.moveSlot { parts.append("move \(move.slot) → \(move.address)") }
        if step.refreshTopology { parts.append("refresh") }
        switch step.action {
        case .send(let destination, let prefix):
            let target: String
            switch destination {
            case .shard(let slot, false): target = "shard \(slot)"
            case .shard(let slot, true): target = "replica of \(slot)"
            case .node(let address): target = "\(address)"
            }
            let first = prefix == .asking ? "ASKING + " : prefix == .readOnly ? "READONLY + " : ""
            parts.append("send \(first)\(target)")
        case .wait(let until):
            let pause = until - (now ?? t0)
            parts.append("wait \(pause.components.seconds * 1000 + pause.components.attoseconds / 1_000_000_000_000_000) ms")
        case .succeed:
            parts.append("succeed")
        case .failWithReply:
            parts.append("reply is the error")
        case .fail(let error):
            parts.append("fail \(name(error.code))")
        }
        return parts.joined(separator: ", ")
    }
}
