import GlideBuffers
import GlideConnection
import GlideRESPCodec
import GlideTransport

/// A ready connection's state machine fed arbitrary server bytes (replies, pushes, garbage)
/// between requests queued, written, cancelled and timed out, in an order the input picks.
///
/// Whatever arrives: a waiter is resumed at most once; replies reach the requests in the order
/// they were sent; and when the connection is given up, every waiter not yet resumed is, once.
enum ConnectionTarget {
    typealias Machine = ConnectionStateMachine<Int, Int>

    static let handshake = HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0)

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var machine = Machine(handshake: handshake, inflightLimit: 32, policy: input.byte() & 1 == 0 ? .unsupervised : .neverReconnects)
        var ledger = Ledger()
        bringUp(&machine)
        var decoder = RESPDecoder(maximumDepth: 16, maximumBulkLength: 1 << 16, maximumAggregateLength: 1 << 12)
        var received = Bytes()
        var now = Deadline(uptimeNanoseconds: 1_000_000_000)
        var job: Machine.WriteJob?
        var nextID: UInt64 = 0
        var open = true
        while open && !input.isAtEnd {
            switch input.below(8) {
            case 0, 1, 2:
                // Server bytes: a few at a time, every complete frame delivered.
                received.writeBytes(input.take(input.below(24) + 1))
                do throws(RESPDecodeError) {
                    while open, let token = try decoder.decode(from: &received) {
                        open = ledger.record(machine.replyReceived(token, generation: 1))
                    }
                } catch {
                    open = false
                }
            case 3, 4:
                nextID += 1
                let replies = input.below(3) + 1
                let kind = input.below(4)
                let confirmation = kind == 1 ? PubSubConfirmation(kind: .exact, subscribing: true) : nil
                let deadline = now + .milliseconds(input.below(200) + 1)
                let queued = machine.enqueue(
                    Int(nextID), id: nextID, deadline: deadline, replies: replies, blocking: kind == 2,
                    confirmation: confirmation, collectsReplies: kind == 3
                ) { $0.writeRESPCommand("GET", "k") }
                ledger.queued(Int(nextID))
                if case .write(let taken) = queued.action {
                    precondition(job == nil, "two writers at once")
                    job = taken
                } else {
                    open = ledger.record(queued.action)
                }
            case 5:
                // The writer finishes: everything handed to it was written.
                if var written = job {
                    written.writes = PendingWrites()
                    job = nil
                    if case .write(let next) = machine.writeFinished(&written, mayContinue: true) { job = next }
                }
            case 6:
                if nextID > 0 { open = ledger.record(machine.cancel(UInt64(input.below(Int(nextID)) + 1))) }
            default:
                now = now + .milliseconds(input.below(250))
                let expiry = machine.timerFired(now: now)
                for resumption in expiry.resumptions { ledger.resumed(resumption) }
                if case .loseConnection = expiry.action { open = false }
            }
        }
        // The connection is given up, whatever state it is in: everyone left hears, once.
        if case .tearDown(let teardown) = machine.connectionLost(generation: 1, GlideErrorSummary(.connectionClosed, "gone")) {
            for resumption in teardown.resumptions { ledger.resumed(resumption) }
        }
        if case .tearDown(let teardown) = machine.close() {
            for resumption in teardown.resumptions { ledger.resumed(resumption) }
        }
        precondition(ledger.waiting.isEmpty, "waiters never resumed: \(ledger.waiting.sorted())")
        precondition(machine.inflightCount >= 0)
    }

    /// Takes a machine through its handshake to ready, on attempt 1.
    static func bringUp(_ machine: inout Machine) {
        let token = { (wire: String) in try! RESPToken(validating: Bytes(wire)) }
        _ = machine.connectNow()
        _ = machine.attemptStarted(generation: 1, deadline: .distantFuture)
        _ = machine.connected(generation: 1, stream: 1)
        _ = machine.handshakeReceived(token("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n"), generation: 1)
        _ = machine.handshakeReceived(token("+OK\r\n"), generation: 1)
        _ = machine.handshakeReceived(token("+OK\r\n"), generation: 1)
        precondition(machine.phase == .ready)
    }

    /// Who waits, and who was resumed.
    struct Ledger {
        var waiting: Set<Int> = []
        /// The last waiter resumed with a reply: replies come in the order requests were sent.
        var lastReplied = 0

        mutating func queued(_ waiter: Int) { waiting.insert(waiter) }

        mutating func resumed(_ resumption: Machine.Resumption) {
            switch resumption {
            case .reply(let waiter, _): done(waiter)
            case .failure(let waiter, _): done(waiter)
            }
        }

        mutating func done(_ waiter: Int) {
            precondition(waiting.remove(waiter) != nil, "waiter \(waiter) resumed twice, or never queued")
        }

        /// Applies an action's resumptions; `false` once the connection must be given up.
        mutating func record(_ action: Machine.Action) -> Bool {
            switch action {
            case .resume(let waiter, _):
                precondition(waiter > lastReplied, "reply for \(waiter) after one for \(lastReplied)")
                lastReplied = waiter
                done(waiter)
            case .fail(let waiter, _):
                done(waiter)
            case .unexpectedReply, .loseConnection:
                return false
            case .tearDown(let teardown):
                for resumption in teardown.resumptions { resumed(resumption) }
                return false
            default:
                break
            }
            return true
        }
    }
}
