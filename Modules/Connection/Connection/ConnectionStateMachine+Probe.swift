/// The state machine's share of pipelined requests, with no I/O, for `glide-microbench`.
///
/// It lives in this module so that it runs the machine specialised, as `NodeConnection` does; a
/// caller in another module would run the generic code.
package struct ConnectionStateMachineProbe {
    /// A stream as the machine holds one: a class reference.
    final class Stream {}

    private var machine = ConnectionStateMachine<Int, Stream>(
        handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0),
        inflightLimit: 1 << 20)
    private let reply = Self.token("$5\r\nvalue\r\n")
    private let key = Bytes("key")
    private var id: UInt64 = 0

    private static func token(_ wire: String) -> RESPToken { try! RESPToken(validating: Bytes(wire)) }

    /// A machine taken through its handshake to ready.
    package init() {
        _ = machine.connectNow()
        _ = machine.attemptStarted(generation: 1, deadline: .distantFuture)
        _ = machine.connected(generation: 1, stream: Stream())
        _ = machine.handshakeReceived(Self.token("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n"), generation: 1)
        _ = machine.handshakeReceived(Self.token("+OK\r\n"), generation: 1)
        _ = machine.handshakeReceived(Self.token("+OK\r\n"), generation: 1)
    }

    /// One round: 16 requests queued while one writer writes, the write finished, and their 16
    /// replies matched to their waiters. Returns a sum of the resumed waiters, so the work can't
    /// be optimised away.
    package mutating func round() -> Int {
        var job: ConnectionStateMachine<Int, Stream>.WriteJob?
        for waiter in 0..<16 {
            id &+= 1
            let queued = machine.enqueue(waiter, id: id, deadline: .distantFuture) { [key] in $0.writeRESPCommand("GET", key) }
            if case .write(let taken) = queued.action { job = taken }
        }
        while var written = job {
            written.writes = PendingWrites()
            job = nil
            if case .write(let next) = machine.writeFinished(&written, mayContinue: true) { job = next }
        }
        var resumed = 0
        for _ in 0..<16 {
            if case .resume(let waiter, _) = machine.replyReceived(reply, generation: 1) { resumed &+= waiter }
        }
        return resumed
    }
}
