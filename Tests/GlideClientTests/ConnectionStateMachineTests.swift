import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

typealias Machine = ConnectionStateMachine<String, String>

let t0 = Deadline(uptimeNanoseconds: 1_000_000_000)

func request(_ text: String) -> @Sendable (inout RESPCommandBuffer) -> Void {
    { $0.bytes.writeString(text) }
}

extension Machine.Action {
    var isNone: Bool { if case .none = self { true } else { false } }
    var connectGeneration: Int? { if case .connect(let generation) = self { generation } else { nil } }
    var job: Machine.WriteJob? { if case .write(let job) = self { job } else { nil } }
    var failure: (String, GlideErrorSummary)? { if case .fail(let waiter, let summary) = self { (waiter, summary) } else { nil } }
    var resumed: (String, String)? {
        if case .resume(let waiter, let reply) = self { (waiter, reply.token.stringBytes?.string ?? "\(reply.token)") } else { nil }
    }
    var teardown: Machine.Teardown? { if case .tearDown(let teardown) = self { teardown } else { nil } }
    /// What a teardown resumed, summarised.
    var tornDown: [String] { teardown?.resumptions.map(\.summary) ?? [] }
    /// A connection given up because its oldest reply is long overdue.
    var isStale: Bool {
        if case .loseConnection(_, let summary) = self { summary.message.contains("stopped answering") } else { false }
    }
}

/// The bytes a write job would put on the wire.
func wire(_ job: Machine.WriteJob?) -> String {
    guard let job else { return "(no job)" }
    var writes = job.writes
    var text = ""
    for chunk in writes.removeAll() { text += chunk.string }
    return text
}

/// The configuration the tests' machines use.
let plainHandshake = HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0)

/// A HELLO reply naming connection id 7.
let helloWithID = reply("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n")

/// A machine taken through connect and handshake to `ready` on attempt 1 (deadline t0 + 2 s).
func readyMachine(limit: Int = 100, policy: ConnectionPolicy = .unsupervised, handshake: HandshakeConfiguration = plainHandshake) -> Machine
{
    var machine = Machine(handshake: handshake, inflightLimit: limit, policy: policy)
    #expect(machine.connectNow() == 1)
    _ = machine.attemptStarted(generation: 1, deadline: t0 + .seconds(2))
    _ = machine.connected(generation: 1, stream: "s1")
    _ = machine.handshakeReceived(helloWithID, generation: 1)
    _ = machine.handshakeReceived(ok, generation: 1)
    _ = machine.handshakeReceived(ok, generation: 1)
    #expect(machine.phase == .ready)
    return machine
}

/// Request ids for the tests, shared by tests running in parallel.
let requestIDs = Atomic<UInt64>(0)

extension Machine {
    /// `enqueue` with a fresh id.
    mutating func enqueue(
        _ waiter: String, deadline: Deadline, replies: Int = 1, blocking: Bool = false,
        encode: (inout RESPCommandBuffer) -> Void
    ) -> (action: Action, armTimer: Deadline?) {
        let id = requestIDs.wrappingAdd(1, ordering: .relaxed).newValue
        return enqueue(waiter, id: id, deadline: deadline, replies: replies, blocking: blocking, encode: encode)
    }

    /// Attempt `generation` opens `stream` and the server completes the handshake (connection
    /// id 7): what the machine then does.
    mutating func handshake(generation: Int, stream: String) -> Action {
        _ = connected(generation: generation, stream: stream)
        _ = handshakeReceived(helloWithID, generation: generation)
        _ = handshakeReceived(ok, generation: generation)
        return handshakeReceived(ok, generation: generation)
    }

    /// The id of the request queued last.
    var lastID: UInt64 { pending[pending.count - 1].id }
}

extension Machine {
    /// `enqueue`, then a socket that takes every byte: the request is sent when this returns
    /// (unless the connection isn't ready).
    @discardableResult
    mutating func enqueueWritten(
        _ waiter: String, deadline: Deadline, replies: Int = 1, blocking: Bool = false,
        confirmation: PubSubConfirmation? = nil, collectsReplies: Bool = false, sampledAt: Deadline? = nil,
        encode: (inout RESPCommandBuffer) -> Void
    ) -> (action: Action, armTimer: Deadline?) {
        let id = requestIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let result = enqueue(
            waiter, id: id, deadline: deadline, replies: replies, blocking: blocking,
            confirmation: confirmation, collectsReplies: collectsReplies, sampledAt: sampledAt, encode: encode)
        if case .write(var job) = result.action {
            while true {
                job.writes = PendingWrites()
                guard case .write(let next) = writeFinished(&job, mayContinue: true) else { break }
                job = next
            }
        }
        return result
    }
}

extension Machine.Resumption {
    /// The waiter and, for a failure, its code.
    var summary: String {
        switch self {
        case .reply(let waiter, let reply): "\(waiter): \(reply.token.stringBytes?.string ?? "reply")"
        case .failure(let waiter, let summary): "\(waiter): \(summary.code)"
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct ConnectionStateMachineTests {
    @Test func firstRequestConnectsAndRequestsQueueUntilTheHandshakeIsDone() {
        var machine = Machine(handshake: plainHandshake, inflightLimit: 100)
        #expect(machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A;")).action.connectGeneration == 1)
        #expect(machine.phase == .connecting)
        #expect(machine.attemptStarted(generation: 1, deadline: t0 + .seconds(2)) == nil)  // the request's 1 s timer is earlier
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B;")).action.isNone)
        guard case .sendHandshake(let hello, generation: 1) = machine.connected(generation: 1, stream: "s1") else {
            Issue.record("expected the handshake")
            return
        }
        #expect(commands(hello).first == ["HELLO", "3"])
        #expect(machine.isHandshaking)
        guard case .none = machine.handshakeReceived(helloWithID, generation: 1) else {
            Issue.record("early")
            return
        }
        guard case .none = machine.handshakeReceived(ok, generation: 1) else {
            Issue.record("early")
            return
        }
        guard case .ready(let job, let info, let waiters) = machine.handshakeReceived(ok, generation: 1) else {
            Issue.record("not ready")
            return
        }
        #expect(wire(job) == "A;B;")  // what queued while connecting goes out in one write
        #expect(job?.stream == "s1")
        #expect(info.clientID == 7)
        #expect(waiters.isEmpty)
    }

    @Test func idleWriterHandsTheCallerTheWriteAndBusyWriterBatches() {
        var machine = readyMachine()
        var first = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A;")).action.job
        #expect(wire(first) == "A;")
        // While "a" is being written, later requests only queue...
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B;")).action.isNone)
        #expect(machine.enqueue("c", deadline: t0 + .seconds(1), encode: request("C;")).action.isNone)
        // ...and the writer picks them up together when it finishes.
        first!.writes = PendingWrites()
        guard case .write(let batch) = machine.writeFinished(&first!, mayContinue: true) else {
            Issue.record("expected the writer to continue")
            return
        }
        #expect(wire(batch) == "B;C;")
    }

    @Test func aCallerOnTheLoopDefersTheWriteSoTheTurnsRequestsLeaveTogether() {
        var machine = readyMachine()
        let deadline = t0 + .seconds(1)
        // The first caller takes the writer role but gets no bytes: the job runs later in the turn.
        var deferred = machine.enqueue("a", id: 1, deadline: deadline, defersWrite: true, encode: request("A;")).action.job
        #expect(deferred != nil)
        #expect(wire(deferred) == "")
        #expect(machine.enqueue("b", id: 2, deadline: deadline, defersWrite: true, encode: request("B;")).action.isNone)
        #expect(machine.enqueue("c", id: 3, deadline: deadline, encode: request("C;")).action.isNone)
        // Until the job runs they are all unsent: a cancelled one is dropped and never written.
        guard case .fail(let cancelled, _) = machine.cancel(3) else {
            Issue.record("expected the unsent request to be dropped")
            return
        }
        #expect(cancelled == "c")
        guard case .write(let batch) = machine.writeFinished(&deferred!, mayContinue: true) else {
            Issue.record("expected the deferred job to take the queued requests")
            return
        }
        #expect(wire(batch) == "A;B;")
        // The empty job's buffer is not kept as the spare, which would leave the next outbound
        // buffer with no capacity.
        #expect(machine.spare == nil)
    }

    @Test func largeValuesGoOutFromTheCallersStorage() {
        var machine = readyMachine()
        let value = Bytes([UInt8](repeating: 0x61, count: 100_000))
        let job = machine.enqueue("big", deadline: t0 + .seconds(1), encode: { $0.writeRESPCommand("SET", "k", value) }).action.job
        var addresses: [UnsafeRawPointer] = []
        job?.writes.withVectors { vectors in
            for vector in vectors { addresses.append(UnsafeRawPointer(vector.iov_base!)) }
        }
        #expect(addresses.count == 3)
        #expect(addresses.contains(value._unsafeReadableAddress))
    }

    @Test func outboundBuffersAreRecycledNotReallocated() {
        var machine = readyMachine()
        var jobs: [Machine.WriteJob] = []
        var addresses: [UnsafeRawPointer] = []
        for index in 0..<3 {
            var job = machine.enqueue("w\(index)", deadline: t0 + .seconds(1), encode: request("X")).action.job!
            addresses.append(job.recyclable._unsafeReadableAddress)
            job.writes = PendingWrites()
            #expect(machine.writeFinished(&job, mayContinue: true).isIdle)
            jobs.append(job)
        }
        // Two buffers alternate: the third write reuses the first one's storage.
        #expect(addresses[2] == addresses[0])
        #expect(addresses[1] != addresses[0])
    }

    @Test func repliesResumeWaitersInOrder() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.enqueueWritten("b", deadline: t0 + .seconds(1), encode: request("B"))
        #expect(machine.replyReceived(reply("$1\r\n1\r\n"), generation: 1).resumed! == ("a", "1"))
        #expect(machine.replyReceived(reply("$1\r\n2\r\n"), generation: 1).resumed! == ("b", "2"))
        guard case .unexpectedReply = machine.replyReceived(reply("$1\r\n3\r\n"), generation: 1) else {
            Issue.record("a reply with no request must be reported")
            return
        }
    }

    @Test func transactionWaitsForItsLastReplyAndKeepsTheFirstQueuedError() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("tx", deadline: t0 + .seconds(1), replies: 4, encode: request("MULTI...EXEC"))
        #expect(machine.replyReceived(ok, generation: 1).isNone)
        #expect(machine.replyReceived(reply("-ERR unknown command\r\n"), generation: 1).isNone)
        #expect(machine.replyReceived(reply("+QUEUED\r\n"), generation: 1).isNone)
        guard case .resume("tx", let result) = machine.replyReceived(reply("-EXECABORT Transaction discarded\r\n"), generation: 1) else {
            Issue.record("expected the transaction's reply")
            return
        }
        #expect(result.token.errorCode == "EXECABORT")
        #expect(result.queuedError?.stringBytes == "ERR unknown command")
    }

    @Test func timedOutRequestsLateReplyIsDiscarded() {
        var machine = readyMachine()
        #expect(machine.enqueueWritten("slow", deadline: t0 + .milliseconds(250), encode: request("S")).armTimer == t0 + .milliseconds(250))
        #expect(machine.enqueueWritten("next", deadline: t0 + .milliseconds(900), encode: request("N")).armTimer == nil)
        // A firing before the armed deadline (an older timer) finds nothing and arms nothing.
        let early = machine.timerFired(now: t0 + .milliseconds(100))
        #expect(early.resumptions.isEmpty)
        #expect(early.next == nil)
        let due = machine.timerFired(now: t0 + .milliseconds(300))
        #expect(due.resumptions.map(\.summary) == ["slow: timeout"])
        #expect(due.next == t0 + .milliseconds(900))
        #expect(machine.inflightCount == 2)  // the slow reply is still owed
        #expect(machine.replyReceived(reply("$4\r\nlate\r\n"), generation: 1).isNone)  // discarded
        #expect(machine.replyReceived(reply("$2\r\nok\r\n"), generation: 1).resumed! == ("next", "ok"))
        #expect(machine.inflightCount == 0)
    }

    @Test func onAMonitorConnectionRepliesNobodyAskedForArePushesNotAProtocolError() {
        var machine = readyMachine(policy: .monitor)
        _ = machine.enqueueWritten("monitor", deadline: t0 + .seconds(1), encode: request("MONITOR"))
        #expect(machine.replyReceived(reply("+OK\r\n"), generation: 1).resumed! == ("monitor", "OK"))
        guard case .push(let line) = machine.replyReceived(reply("+1.5 [0 lua] \"GET\" \"k\"\r\n"), generation: 1) else {
            Issue.record("expected the line as a push")
            return
        }
        #expect(line.stringBytes?.string == "1.5 [0 lua] \"GET\" \"k\"")
        // Elsewhere the same reply ends the connection.
        var plain = readyMachine()
        guard case .unexpectedReply = plain.replyReceived(reply("+1.5\r\n"), generation: 1) else {
            Issue.record("expected an unexpected reply")
            return
        }
    }

    @Test func aTimeoutSaysWhereTheTimeWent() {
        func messages(_ expiry: Machine.Expiry) -> [String] {
            expiry.resumptions.compactMap {
                if case .failure(let waiter, let summary) = $0 { "\(waiter): \(summary.message)" } else { nil }
            }
        }
        // Nothing came back at all: the server, or the path to it, stalled.
        var stalled = readyMachine()
        _ = stalled.enqueueWritten("a", deadline: t0 + .milliseconds(250), encode: request("A"))
        _ = stalled.enqueueWritten("b", deadline: t0 + .milliseconds(250), encode: request("B"))
        #expect(
            messages(stalled.timerFired(now: t0 + .milliseconds(300))) == [
                "a: no reply within the request timeout: sent, and nothing came back since it was queued: the server or the path to it stalled",
                "b: no reply within the request timeout: sent behind 1 request still unanswered, and nothing came back since it was "
                    + "queued: the server is busy with an earlier request, or it or the path to it stalled",
            ])
        // Replies came, then stopped: the server is slow, or stuck on one request.
        var slow = readyMachine()
        for name in ["a", "b", "c", "d"] { _ = slow.enqueueWritten(name, deadline: t0 + .milliseconds(250), encode: request(name)) }
        _ = slow.replyReceived(reply("+OK\r\n"), generation: 1)
        _ = slow.replyReceived(reply("+OK\r\n"), generation: 1)
        #expect(
            messages(slow.timerFired(now: t0 + .milliseconds(300))) == [
                "c: no reply within the request timeout: sent; 2 replies came back since it was queued, then nothing",
                "d: no reply within the request timeout: sent behind 1 request still unanswered; 2 replies came back since it was queued",
            ])
    }

    @Test func blockedSocketHandsTheWriteToTheLoop() {
        var machine = readyMachine()
        var job = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("AAAA")).action.job!
        job.writes.didWrite(1)  // the socket took one byte
        guard case .awaitWritable(1) = machine.writeFinished(&job, mayContinue: true) else {
            Issue.record("expected a wait for writability")
            return
        }
        _ = machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B"))
        #expect(machine.writable(generation: 2).isNone)  // not this connection
        #expect(wire(machine.writable(generation: 1).job) == "AAAB")
    }

    @Test func inflightLimitRefusesWithoutQueueing() {
        var machine = readyMachine(limit: 2)
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B"))
        let refused = machine.enqueue("c", deadline: t0 + .seconds(1), encode: request("C")).action.failure
        #expect(refused?.0 == "c")
        #expect(refused?.1.code == .tooManyInflightRequests)
        #expect(machine.inflightCount == 2)
    }

    @Test func pushMessagesAreNotReplies() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("a", deadline: t0 + .seconds(1), encode: request("A"))
        guard case .push = machine.replyReceived(reply(">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"), generation: 1) else {
            Issue.record("expected a push")
            return
        }
        #expect(machine.replyReceived(ok, generation: 1).resumed?.0 == "a")
    }

    @Test func subscriptionConfirmationsAnswerTheSubscribeAndMessagesStayOutOfBand() {
        var machine = readyMachine()
        _ = machine.enqueueWritten(
            "sub", deadline: t0 + .seconds(1), replies: 2, confirmation: PubSubConfirmation(kind: .exact, subscribing: true),
            encode: request("S"))
        _ = machine.enqueueWritten("get", deadline: t0 + .seconds(1), encode: request("G"))
        // A message published to an earlier subscription, between the two confirmations.
        #expect(machine.replyReceived(reply(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"), generation: 1).isNone)
        guard case .push = machine.replyReceived(reply(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"), generation: 1) else {
            Issue.record("a message is not a reply")
            return
        }
        guard case .resume("sub", _) = machine.replyReceived(reply(">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"), generation: 1) else {
            Issue.record("the second confirmation answers the subscribe")
            return
        }
        #expect(machine.replyReceived(reply("$1\r\nv\r\n"), generation: 1).resumed! == ("get", "v"))
    }

    @Test func aRefusedSubscriptionEndsWithOneErrorAndTheNextCallerGetsItsOwnReply() {
        var machine = readyMachine()
        _ = machine.enqueueWritten(
            "sub", deadline: t0 + .seconds(1), replies: 3, confirmation: PubSubConfirmation(kind: .exact, subscribing: true),
            encode: request("S"))
        _ = machine.enqueueWritten("get", deadline: t0 + .seconds(1), encode: request("G"))
        guard
            case .resume("sub", let refusal) = machine.replyReceived(reply("-NOPERM no permissions to access a channel\r\n"), generation: 1)
        else {
            Issue.record("one error answers the whole subscription command")
            return
        }
        #expect(refusal.token.errorCode == "NOPERM")
        #expect(machine.replyReceived(reply("$1\r\nv\r\n"), generation: 1).resumed! == ("get", "v"))
        // A confirmation no command waits for (the server unsubscribing on its own) is out of band.
        guard case .push = machine.replyReceived(reply(">3\r\n$12\r\nsunsubscribe\r\n$1\r\nc\r\n:0\r\n"), generation: 1) else {
            Issue.record("an unsolicited confirmation is a push")
            return
        }
    }

    @Test func theServersOwnUnsubscribeNeverAnswersASubscribe() {
        var machine = readyMachine()
        _ = machine.enqueueWritten(
            "ssub", deadline: t0 + .seconds(1), replies: 1,
            confirmation: PubSubConfirmation(kind: .sharded, subscribing: true), encode: request("S"))
        // A slot that moved away: the server unsubscribes another channel while the SSUBSCRIBE waits.
        guard case .push = machine.replyReceived(reply(">3\r\n$12\r\nsunsubscribe\r\n$1\r\nc\r\n:0\r\n"), generation: 1) else {
            Issue.record("an unsubscription of another kind is out of band")
            return
        }
        guard case .resume("ssub", _) = machine.replyReceived(reply(">3\r\n$10\r\nssubscribe\r\n$1\r\nd\r\n:1\r\n"), generation: 1) else {
            Issue.record("its own confirmation answers the SSUBSCRIBE")
            return
        }
    }

    @Test func aPipelineKeepsEveryReplyErrorsIncludedAndTheNextCallerGetsItsOwn() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("pipe", deadline: t0 + .seconds(1), replies: 3, collectsReplies: true, encode: request("P"))
        _ = machine.enqueueWritten("get", deadline: t0 + .seconds(1), encode: request("G"))
        #expect(machine.replyReceived(reply("+OK\r\n"), generation: 1).isNone)
        #expect(machine.replyReceived(reply("-ERR not an integer\r\n"), generation: 1).isNone)
        guard case .resume("pipe", let last) = machine.replyReceived(reply(":3\r\n"), generation: 1) else {
            Issue.record("the third reply ends the pipeline")
            return
        }
        #expect(last.earlier?.map { RESPValue($0) } == [.simpleString("OK"), .simpleError("ERR not an integer")])
        #expect(last.token.integerValue == 3 && last.queuedError == nil)
        #expect(machine.replyReceived(reply("$1\r\nv\r\n"), generation: 1).resumed! == ("get", "v"))
    }

    @Test func closeFailsEverythingForGood() {
        var machine = readyMachine()
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        let closed = machine.close()
        #expect(closed.tornDown == ["a: client closed"])
        #expect(closed.teardown?.stream == "s1")
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B")).action.failure?.1.code == .clientClosed)
        #expect(machine.connectNow() == nil)
        #expect(machine.close().isNone)
    }

    @Test func repliesFromAGivenUpConnectionNeverReachTheNextConnectionsCallers() {
        var machine = Machine(
            handshake: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: ServerCredentials(password: "x"),
                clientName: nil, databaseID: 0), inflightLimit: 10)
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.connected(generation: 1, stream: "s1")
        // One read brings the failed HELLO and the replies pipelined behind it.
        guard case .tearDown = machine.handshakeReceived(reply("-WRONGPASS nope\r\n"), generation: 1) else {
            Issue.record("expected failure")
            return
        }
        // The failure was definitive: the next request fails at once, with the same error...
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B")).action.failure?.1.code == .authenticationFailed)
        // ...until the supervisor allows a retry on demand: then it starts attempt 2.
        machine.allowRetryOnDemand()
        #expect(machine.enqueue("c", deadline: t0 + .seconds(1), encode: request("C")).action.connectGeneration == 2)
        // The dead connection's leftover replies must not be given to the new caller.
        #expect(machine.replyReceived(reply("-NOAUTH\r\n"), generation: 1).isNone)
        #expect(machine.replyReceived(ok, generation: 1).isNone)
        guard case .none = machine.handshakeReceived(ok, generation: 1) else {
            Issue.record("a stale handshake reply was used")
            return
        }
        #expect(machine.inflightCount == 1)
    }

    @Test func supersededTimerFiringsFindNothingAndArmNothing() {
        var machine = readyMachine()  // the attempt's timer, for t0 + 2 s, is still scheduled
        #expect(machine.enqueue("early", deadline: t0 + .seconds(1), encode: request("E")).armTimer == t0 + .seconds(1))
        #expect(machine.enqueue("late", deadline: t0 + .seconds(5), encode: request("L")).armTimer == nil)
        let first = machine.timerFired(now: t0 + .seconds(1))
        #expect(first.resumptions.map(\.summary) == ["early: timeout"])
        #expect(first.next == t0 + .seconds(3))  // when "early"'s reply counts as lost: 1 s + 2 s grace
        // The attempt's old timer fires at 2 s: superseded, it finds nothing and re-arms nothing.
        let spurious = machine.timerFired(now: t0 + .seconds(2))
        #expect(spurious.resumptions.isEmpty && spurious.next == nil && !spurious.action.isStale)
    }

    @Test func connectionIsDeclaredDeadWhenTheOldestReplyIsLongOverdue() {
        var machine = readyMachine()
        _ = machine.enqueueWritten("a", deadline: t0 + .milliseconds(250), encode: request("A"))
        _ = machine.enqueueWritten("b", deadline: t0 + .seconds(10), encode: request("B"))
        let timedOut = machine.timerFired(now: t0 + .milliseconds(300))
        #expect(timedOut.resumptions.map(\.summary) == ["a: timeout"])
        #expect(!timedOut.action.isStale)
        #expect(timedOut.next == t0 + .milliseconds(2_250))
        let dead = machine.timerFired(now: t0 + .milliseconds(2_300))
        #expect(dead.action.isStale)
        #expect(machine.connectionLost(generation: 1, GlideErrorSummary(.connectionClosed, "stale")).tornDown == ["b: connection closed"])
    }

    @Test func selectedDatabaseIsUsedOnReconnect() {
        var machine = readyMachine()
        machine.databaseSelected(4)
        _ = machine.connectionLost(generation: 1, GlideErrorSummary(.connectionClosed, "gone"))
        _ = machine.connectNow()
        guard case .sendHandshake(let bytes, generation: 2) = machine.connected(generation: 2, stream: "s2") else {
            Issue.record("expected the handshake")
            return
        }
        #expect(commands(bytes).contains(["SELECT", "4"]))
    }
}

extension Machine.Action {
    var isIdle: Bool { if case .none = self { true } else { false } }
}
