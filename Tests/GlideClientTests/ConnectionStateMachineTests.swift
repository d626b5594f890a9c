import Testing
@testable import GlideClient

typealias Machine = ConnectionStateMachine<String, String>

let t0 = Deadline(uptimeNanoseconds: 1_000_000_000)

func request(_ text: String) -> @Sendable (inout RESPCommandBuffer) -> Void {
    { $0.bytes.writeString(text) }
}

extension Machine.EnqueueAction {
    var isNone: Bool { if case .none = self { true } else { false } }
    var connectGeneration: Int? { if case .connect(let generation) = self { generation } else { nil } }
    var job: Machine.WriteJob? { if case .write(let job) = self { job } else { nil } }
    var failure: (String, GlideErrorSummary)? { if case .fail(let waiter, let summary) = self { (waiter, summary) } else { nil } }
}

extension Machine.ReceiveAction {
    var resumed: (String, String)? {
        if case .resume(let waiter, let reply) = self { (waiter, reply.token.stringBytes?.string ?? "\(reply.token)") } else { nil }
    }
    var isNone: Bool { if case .none = self { true } else { false } }
}

/// The bytes a write job would put on the wire.
func wire(_ job: Machine.WriteJob?) -> String {
    guard let job else { return "(no job)" }
    var writes = job.writes
    var text = ""
    for chunk in writes.removeAll() { text += chunk.string }
    return text
}

/// A machine taken through connect and handshake to `ready`.
func readyMachine(limit: Int = 100) -> Machine {
    var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, database: 0),
                          inflightLimit: limit)
    #expect(machine.connectNow() == 1)
    _ = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2))
    _ = machine.handshakeReceived(helloMap, generation: 1)
    _ = machine.handshakeReceived(ok, generation: 1)
    _ = machine.handshakeReceived(ok, generation: 1)
    #expect(machine.phase == .ready)
    return machine
}

@Suite struct ConnectionStateMachineTests {
    @Test func firstRequestConnectsAndRequestsQueueUntilTheHandshakeIsDone() {
        var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, database: 0),
                              inflightLimit: 100)
        #expect(machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A;")).action.connectGeneration == 1)
        #expect(machine.phase == .connecting)
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B;")).action.isNone)
        guard case .sendHandshake(let hello, _) = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2)) else {
            Issue.record("expected the handshake")
            return
        }
        #expect(commands(hello).first == ["HELLO", "3"])
        #expect(machine.isHandshaking)
        guard case .none = machine.handshakeReceived(helloMap, generation: 1) else { Issue.record("early"); return }
        guard case .none = machine.handshakeReceived(ok, generation: 1) else { Issue.record("early"); return }
        guard case .ready(let job) = machine.handshakeReceived(ok, generation: 1) else { Issue.record("not ready"); return }
        #expect(wire(job) == "A;B;")  // what queued while connecting goes out in one write
        #expect(job?.stream == "s1")
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
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B"))
        #expect(machine.replyReceived(reply("$1\r\n1\r\n"), generation: 1).resumed! == ("a", "1"))
        #expect(machine.replyReceived(reply("$1\r\n2\r\n"), generation: 1).resumed! == ("b", "2"))
        guard case .unexpectedReply = machine.replyReceived(reply("$1\r\n3\r\n"), generation: 1) else {
            Issue.record("a reply with no request must be reported")
            return
        }
    }

    @Test func transactionWaitsForItsLastReplyAndKeepsTheFirstQueuedError() {
        var machine = readyMachine()
        _ = machine.enqueue("tx", deadline: t0 + .seconds(1), replies: 4, encode: request("MULTI...EXEC"))
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
        #expect(machine.enqueue("slow", deadline: t0 + .milliseconds(250), encode: request("S")).armTimer == t0 + .milliseconds(250))
        // A later deadline needs no earlier timer.
        #expect(machine.enqueue("next", deadline: t0 + .milliseconds(900), encode: request("N")).armTimer == nil)
        // A firing before the armed deadline (an older timer) finds nothing and arms nothing.
        let early = machine.timerFired(now: t0 + .milliseconds(100))
        #expect(early.expired.isEmpty)
        #expect(early.next == nil)
        let due = machine.timerFired(now: t0 + .milliseconds(300))
        #expect(due.expired == ["slow"])
        #expect(due.next == t0 + .milliseconds(900))
        #expect(machine.inflightCount == 2)  // the slow reply is still owed
        #expect(machine.replyReceived(reply("$4\r\nlate\r\n"), generation: 1).isNone)  // discarded
        #expect(machine.replyReceived(reply("$2\r\nok\r\n"), generation: 1).resumed! == ("next", "ok"))
        #expect(machine.inflightCount == 0)
    }

    @Test func lostConnectionFailsEverythingAndTheNextRequestReconnects() {
        var machine = readyMachine()
        var job = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A")).action.job!
        _ = machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B"))
        let lost = machine.connectionLost(generation: 1)
        #expect(lost.waiters == ["a", "b"])
        #expect(lost.stream == "s1")
        #expect(lost.duringHandshake == false)
        #expect(machine.phase == .idle)
        // The old writer reporting in later changes nothing.
        job.writes = PendingWrites()
        #expect(machine.writeFinished(&job, mayContinue: true).isIdle)
        #expect(machine.connectionLost(generation: 1).waiters.isEmpty)
        #expect(machine.enqueue("c", deadline: t0 + .seconds(1), encode: request("C")).action.connectGeneration == 2)
        // An event of the first connection can't touch the second.
        #expect(machine.connectFailed(generation: 1).isEmpty)
        #expect(machine.connectFailed(generation: 2) == ["c"])
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
        #expect(machine.writable(generation: 2) == nil)  // not this connection
        #expect(wire(machine.writable(generation: 1)) == "AAAB")
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

    @Test func closeFailsEverythingForGood() {
        var machine = readyMachine()
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        let closed = machine.close()
        #expect(closed.waiters == ["a"])
        #expect(closed.stream == "s1")
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B")).action.failure?.1.code == .clientClosed)
        #expect(machine.connectNow() == nil)
    }

    @Test func pushMessagesAreNotReplies() {
        var machine = readyMachine()
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        guard case .push = machine.replyReceived(reply(">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"), generation: 1) else {
            Issue.record("expected a push")
            return
        }
        #expect(machine.replyReceived(ok, generation: 1).resumed?.0 == "a")
    }

    @Test func failedHandshakeFailsTheQueueAndClosesTheStream() {
        var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: ServerCredentials(password: "x"),
                                                                clientName: nil, database: 0), inflightLimit: 10)
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2))
        guard case .failed(let waiters, let summary, let stream) = machine.handshakeReceived(reply("-WRONGPASS nope\r\n"), generation: 1) else {
            Issue.record("expected failure")
            return
        }
        #expect(waiters == ["a"])
        #expect(summary.code == .authenticationFailed)
        #expect(stream == "s1")
        #expect(machine.phase == .idle)
    }

    @Test func connectionLostDuringTheHandshakeSaysSo() {
        var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, database: 0),
                              inflightLimit: 10)
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2))
        let lost = machine.connectionLost(generation: 1)
        #expect(lost.waiters == ["a"])
        #expect(lost.duringHandshake)
    }

    @Test func repliesFromAGivenUpConnectionNeverReachTheNextConnectionsCallers() {
        var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: ServerCredentials(password: "x"),
                                                                clientName: nil, database: 0), inflightLimit: 10)
        _ = machine.enqueue("a", deadline: t0 + .seconds(1), encode: request("A"))
        _ = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2))
        // One read brings the failed HELLO and the replies pipelined behind it.
        guard case .failed = machine.handshakeReceived(reply("-WRONGPASS nope\r\n"), generation: 1) else {
            Issue.record("expected failure")
            return
        }
        // Meanwhile another caller queues a request for the next connection...
        #expect(machine.enqueue("b", deadline: t0 + .seconds(1), encode: request("B")).action.connectGeneration == 2)
        // ...and the dead connection's leftover replies must not be given to it.
        #expect(machine.replyReceived(reply("-NOAUTH\r\n"), generation: 1).isNone)
        #expect(machine.replyReceived(ok, generation: 1).isNone)
        guard case .none = machine.handshakeReceived(ok, generation: 1) else {
            Issue.record("a stale handshake reply was used")
            return
        }
        #expect(machine.inflightCount == 1)
    }

    @Test func supersededTimerFiringsFindNothingAndArmNothing() {
        var machine = readyMachine()  // the handshake's timer, for t0 + 2 s, is still scheduled
        #expect(machine.enqueue("early", deadline: t0 + .seconds(1), encode: request("E")).armTimer == t0 + .seconds(1))
        #expect(machine.enqueue("late", deadline: t0 + .seconds(5), encode: request("L")).armTimer == nil)
        let first = machine.timerFired(now: t0 + .seconds(1))
        #expect(first.expired == ["early"])
        #expect(first.next == t0 + .seconds(3))  // when "early"'s reply counts as lost: 1 s + 2 s grace
        // The handshake's old timer fires at 2 s: superseded, it finds nothing and re-arms nothing.
        let spurious = machine.timerFired(now: t0 + .seconds(2))
        #expect(spurious.expired.isEmpty && spurious.next == nil && !spurious.connectionStale)
    }

    @Test func connectionIsDeclaredDeadWhenTheOldestReplyIsLongOverdue() {
        var machine = readyMachine()
        _ = machine.enqueue("a", deadline: t0 + .milliseconds(250), encode: request("A"))
        _ = machine.enqueue("b", deadline: t0 + .seconds(10), encode: request("B"))
        let timedOut = machine.timerFired(now: t0 + .milliseconds(300))
        #expect(timedOut.expired == ["a"])
        #expect(!timedOut.connectionStale)
        #expect(timedOut.next == t0 + .milliseconds(2_250))
        let dead = machine.timerFired(now: t0 + .milliseconds(2_300))
        #expect(dead.connectionStale)
        #expect(machine.connectionLost(generation: 1).waiters == ["b"])
    }

    @Test func handshakeMustFinishWithinTheConnectTimeout() {
        var machine = Machine(handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, database: 0),
                              inflightLimit: 10)
        _ = machine.connectNow()
        _ = machine.connected(generation: 1, stream: "s1", handshakeDeadline: t0 + .seconds(2))
        #expect(machine.timerFired(now: t0 + .seconds(1)).handshakeTimedOut == false)
        #expect(machine.timerFired(now: t0 + .seconds(3)).handshakeTimedOut)
    }

    @Test func selectedDatabaseIsUsedOnReconnect() {
        var machine = readyMachine()
        machine.databaseSelected(4)
        _ = machine.connectionLost(generation: 1)
        _ = machine.connectNow()
        guard case .sendHandshake(let bytes, _) = machine.connected(generation: 2, stream: "s2", handshakeDeadline: t0) else {
            Issue.record("expected the handshake")
            return
        }
        #expect(commands(bytes).contains(["SELECT", "4"]))
    }
}

extension Machine.WriteAction {
    var isIdle: Bool { if case .none = self { true } else { false } }
}
