import GlideTransport

/// A reply and, for a transaction, the first error among the replies queued before it.
struct ConnectionReply: Sendable {
    let token: RESPToken
    let queuedError: RESPToken?
}

/// One multiplexed connection to a node, as a pure state machine.
///
/// It owns the request queue, the bytes waiting to be written, the writer role and the connection
/// phase, and it decides everything; `NodeConnection` performs the actions it returns. It never
/// touches a socket or a clock, so tests drive it with strings for waiters and streams.
///
/// Phases: `idle` (not connected; the next request connects) → `connecting` → `handshaking` →
/// `ready`, back to `idle` when the connection is lost, and `closed` for good.
struct ConnectionStateMachine<Waiter, Stream> {
    enum Phase: Equatable {
        case idle
        case connecting
        case handshaking
        case ready
        case closed
    }

    /// A request waiting for its replies, in the order the requests were written.
    struct Pending {
        /// Who gets the reply; `nil` once the request timed out, its reply still due and discarded.
        var waiter: Waiter?
        let deadline: Deadline
        var repliesLeft: Int
        var queuedError: RESPToken?
    }

    /// Who writes: nobody, one thread (a caller or the loop), or nobody until the socket drains.
    enum Writer {
        case idle
        case active
        case blocked(PendingWrites)
    }

    /// Bytes to write to a stream, and a buffer to hand back for reuse once they are written.
    struct WriteJob {
        let stream: Stream
        let generation: Int
        var writes: PendingWrites
        /// The outbound buffer the writes came from, handed back for reuse once written.
        var recyclable: Bytes
    }

    enum EnqueueAction {
        case none
        /// The caller now holds the writer role: write these.
        case write(WriteJob)
        /// Start connection attempt `generation`.
        case connect(generation: Int)
        /// The request was refused before being queued.
        case fail(Waiter, GlideErrorSummary)
    }

    enum WriteAction {
        case none
        /// Keep the writer role and write these too.
        case write(WriteJob)
        /// The socket is full: ask the loop for writability.
        case awaitWritable(generation: Int)
    }

    enum ReceiveAction {
        case none
        case resume(Waiter, ConnectionReply)
        /// An out-of-band RESP3 message, not a reply.
        case push(RESPToken)
        /// A reply arrived that no request waits for: the stream can't be trusted.
        case unexpectedReply
    }

    enum ConnectedAction {
        /// Send the handshake over the new stream; arm the timer if a deadline is given.
        case sendHandshake(Bytes, armTimer: Deadline?)
        /// The attempt is stale or the client closed: close the stream.
        case discard
    }

    enum HandshakeAction {
        case none
        case send(Bytes)
        /// Ready; flush what queued while connecting, if anything.
        case ready(WriteJob?)
        /// The connection is unusable: fail these and close the stream.
        case failed([Waiter], GlideErrorSummary, Stream?)
    }

    struct TimerOutcome {
        var expired: [Waiter] = []
        /// Arm the timer for this deadline.
        var next: Deadline?
        /// The handshake overran the connect timeout: tear the connection down.
        var handshakeTimedOut = false
        /// The oldest reply is overdue far beyond its timeout: the server or the path to it is
        /// gone (a black hole sends no reset). Tear the connection down; the next request reconnects.
        var connectionStale = false
    }

    /// The outbound buffer's starting size; writers recycle two of them, so this is not per request.
    static var outboundCapacity: Int { 16 * 1024 }
    /// Buffers larger than this, grown by one big request, are not kept for reuse.
    static var largestRecycledBuffer: Int { 4 * 1024 * 1024 }

    private(set) var phase: Phase = .idle
    /// Counts connection attempts; events of an earlier attempt are recognised and ignored.
    private(set) var generation = 0
    private(set) var stream: Stream?
    private(set) var handshakeConfiguration: HandshakeConfiguration
    private(set) var negotiatedProtocol: ProtocolVersion?
    private var handshake: HandshakeStateMachine?
    private var handshakeDeadline: Deadline = .distantFuture
    private(set) var pending = RingBuffer<Pending>(minimumCapacity: 64)
    private var outbound = RESPCommandBuffer(capacity: outboundCapacity)
    /// The byte buffer of a written outbound, kept to be the next outbound's.
    private var spare: Bytes?
    private var writer = Writer.idle
    /// The deadline the loop timer is armed for, or `.distantFuture`.
    private(set) var armedTimer: Deadline = .distantFuture
    let inflightLimit: Int
    /// How long past its deadline the oldest reply may be before the connection is declared dead.
    let staleReplyGrace: Duration

    init(handshake: HandshakeConfiguration, inflightLimit: Int, staleReplyGrace: Duration = .seconds(2)) {
        self.handshakeConfiguration = handshake
        self.inflightLimit = inflightLimit
        self.staleReplyGrace = staleReplyGrace
    }

    /// Whether replies currently belong to the handshake.
    var isHandshaking: Bool { phase == .handshaking }

    /// The number of requests waiting for replies, timed-out ones included.
    var inflightCount: Int { pending.count }

    // MARK: Requests

    /// Queues a request whose `replies` replies go to `waiter`; `encode` appends its bytes.
    mutating func enqueue(
        _ waiter: Waiter, deadline: Deadline, replies: Int = 1, encode: (inout RESPCommandBuffer) -> Void
    ) -> (action: EnqueueAction, armTimer: Deadline?) {
        switch phase {
        case .closed:
            return (.fail(waiter, GlideErrorSummary(.clientClosed, "the client is closed")), nil)
        case .idle, .connecting, .handshaking, .ready:
            break
        }
        guard pending.count < inflightLimit else {
            return (.fail(waiter, GlideErrorSummary(
                .tooManyInflightRequests, "\(pending.count) requests are already waiting for replies (limit \(inflightLimit))")), nil)
        }
        encode(&outbound)
        pending.append(Pending(waiter: waiter, deadline: deadline, repliesLeft: replies, queuedError: nil))
        var armTimer: Deadline? = nil
        if deadline < armedTimer {
            armedTimer = deadline
            armTimer = deadline
        }
        switch phase {
        case .idle:
            return (beginConnecting(), armTimer)
        case .ready:
            guard case .idle = writer else { return (.none, armTimer) }
            return (takeWrites().map { .write($0) } ?? .none, armTimer)
        default:
            return (.none, armTimer)
        }
    }

    /// Starts a connection attempt without a request, e.g. for an eager `create`.
    mutating func connectNow() -> Int? {
        guard phase == .idle else { return nil }
        guard case .connect(let generation) = beginConnecting() else { return nil }
        return generation
    }

    private mutating func beginConnecting() -> EnqueueAction {
        phase = .connecting
        generation += 1
        return .connect(generation: generation)
    }

    /// Hands the queued bytes (after any the socket refused earlier) to a writer.
    private mutating func takeWrites() -> WriteJob? {
        guard let stream else { return nil }
        var writes: PendingWrites
        if case .blocked(let stalled) = writer { writes = stalled } else { writes = PendingWrites() }
        let taken = outbound
        taken.forEachChunk { writes.append($0) }
        guard !writes.isEmpty else {
            writer = .idle
            return nil
        }
        outbound = RESPCommandBuffer()
        outbound.bytes = spare ?? Bytes(capacity: Self.outboundCapacity)
        spare = nil
        writer = .active
        return WriteJob(stream: stream, generation: generation, writes: writes, recyclable: taken.bytes)
    }

    /// The writer wrote what it could of `job`; what is left in `job.writes` the socket refused.
    mutating func writeFinished(_ job: inout WriteJob, mayContinue: Bool) -> WriteAction {
        guard job.generation == generation, phase == .ready, case .active = writer else {
            return .none  // a writer of a lost connection: its bytes die with it
        }
        if !job.writes.isEmpty {
            writer = .blocked(job.writes)
            return .awaitWritable(generation: generation)
        }
        // Swapped out rather than copied, so this is the only reference and the storage is reused.
        var buffer = Bytes()
        swap(&buffer, &job.recyclable)
        recycle(&buffer)
        guard !outbound.isEmpty else {
            writer = .idle
            return .none
        }
        guard mayContinue else {
            // The writer has done its share; the loop takes over without the role changing hands.
            return .awaitWritable(generation: generation)
        }
        return takeWrites().map { .write($0) } ?? .none
    }

    private mutating func recycle(_ buffer: inout Bytes) {
        guard spare == nil, buffer.capacity <= Self.largestRecycledBuffer, buffer.isUniquelyReferenced() else { return }
        buffer.clear()
        spare = Bytes()
        swap(&spare!, &buffer)
    }

    /// The socket drained: the loop takes the writer role and writes what waits.
    mutating func writable(generation: Int) -> WriteJob? {
        guard generation == self.generation, phase == .ready else { return nil }
        switch writer {
        case .blocked, .active:
            return takeWrites()
        case .idle:
            return nil
        }
    }

    // MARK: Replies

    /// A reply arrived outside the handshake on the connection of `generation`. Bytes still read
    /// from a connection that was given up are dropped: they must never reach a caller queued for
    /// the next connection.
    mutating func replyReceived(_ token: RESPToken, generation: Int) -> ReceiveAction {
        guard generation == self.generation, phase == .ready else { return .none }
        if token.type == .push { return .push(token) }
        guard !pending.isEmpty else { return .unexpectedReply }
        pending[0].repliesLeft -= 1
        if pending[0].repliesLeft > 0 {
            if pending[0].queuedError == nil && token.type.isError { pending[0].queuedError = token }
            return .none
        }
        let request = pending.popFirst()!
        guard let waiter = request.waiter else { return .none }
        return .resume(waiter, ConnectionReply(token: token, queuedError: request.queuedError))
    }

    // MARK: Timeouts

    /// The loop timer fired at `now`: time out overdue requests and say when to fire next.
    mutating func timerFired(now: Deadline) -> TimerOutcome {
        var outcome = TimerOutcome()
        // Timers can't be cancelled: one firing before the armed deadline was superseded by an
        // earlier one and finds nothing due; re-arming for it would only pile timers up.
        guard now >= armedTimer else { return outcome }
        var next = Deadline.distantFuture
        // A full scan, but only when the timer fires (about once per timeout period), never per request.
        for index in 0..<pending.count where pending[index].waiter != nil {
            if pending[index].deadline <= now {
                outcome.expired.append(pending[index].waiter!)
                pending[index].waiter = nil
            } else if pending[index].deadline < next {
                next = pending[index].deadline
            }
        }
        if let oldest = pending.first, oldest.waiter == nil, phase == .ready {
            let giveUp = oldest.deadline + staleReplyGrace
            if giveUp <= now {
                outcome.connectionStale = true
            } else if giveUp < next {
                next = giveUp
            }
        }
        if phase == .handshaking {
            if handshakeDeadline <= now {
                outcome.handshakeTimedOut = true
            } else if handshakeDeadline < next {
                next = handshakeDeadline
            }
        }
        armedTimer = next
        outcome.next = next == .distantFuture ? nil : next
        return outcome
    }

    // MARK: Connecting

    /// Attempt `generation` opened `stream`; it must finish the handshake by `deadline`.
    mutating func connected(generation: Int, stream: Stream, handshakeDeadline deadline: Deadline) -> ConnectedAction {
        guard generation == self.generation, phase == .connecting else { return .discard }
        self.stream = stream
        phase = .handshaking
        var machine = HandshakeStateMachine(configuration: handshakeConfiguration)
        let bytes = machine.start()
        handshake = machine
        handshakeDeadline = deadline
        guard deadline < armedTimer else { return .sendHandshake(bytes, armTimer: nil) }
        armedTimer = deadline
        return .sendHandshake(bytes, armTimer: deadline)
    }

    /// Attempt `generation` could not open a stream: fail everything queued.
    mutating func connectFailed(generation: Int) -> [Waiter] {
        guard generation == self.generation, phase == .connecting else { return [] }
        phase = .idle
        return drainAll()
    }

    /// A handshake reply arrived on the connection of `generation`.
    mutating func handshakeReceived(_ token: RESPToken, generation: Int) -> HandshakeAction {
        guard generation == self.generation, phase == .handshaking, var machine = handshake else { return .none }
        let action = machine.receive(token)
        handshake = machine
        switch action {
        case .awaitReplies:
            return .none
        case .send(let bytes):
            return .send(bytes)
        case .ready(let version):
            phase = .ready
            handshake = nil
            negotiatedProtocol = version
            handshakeDeadline = .distantFuture
            guard case .idle = writer else { return .ready(nil) }
            return .ready(takeWrites())
        case .failed(let summary):
            let lostStream = stream
            tearDown(to: .idle)
            return .failed(drainAll(), summary, lostStream)
        }
    }

    /// The connection of `generation` broke: every request waiting on it fails. `duringHandshake`
    /// says the connection never became ready, so no request was sent on it.
    mutating func connectionLost(generation: Int) -> (waiters: [Waiter], stream: Stream?, duringHandshake: Bool) {
        guard generation == self.generation, phase == .handshaking || phase == .ready else { return ([], nil, false) }
        let lostStream = stream
        let duringHandshake = phase == .handshaking
        tearDown(to: .idle)
        return (drainAll(), lostStream, duringHandshake)
    }

    /// The user closed the client: fail everything, and close the stream if there is one.
    mutating func close() -> (waiters: [Waiter], stream: Stream?) {
        guard phase != .closed else { return ([], nil) }
        let lostStream = stream
        tearDown(to: .closed)
        return (drainAll(), lostStream)
    }

    private mutating func tearDown(to next: Phase) {
        phase = next
        stream = nil
        handshake = nil
        handshakeDeadline = .distantFuture
        writer = .idle
        negotiatedProtocol = nil
    }

    private mutating func drainAll() -> [Waiter] {
        var waiters: [Waiter] = []
        waiters.reserveCapacity(pending.count)
        while let request = pending.popFirst() {
            if let waiter = request.waiter { waiters.append(waiter) }
        }
        outbound.clear()
        return waiters
    }

    // MARK: Settings that survive reconnection

    /// A `SELECT` succeeded: reconnections select the same database.
    mutating func databaseSelected(_ database: Int) {
        handshakeConfiguration.database = database
    }

    /// The password changed: reconnections authenticate as `username` with `password`, or
    /// without credentials when it is `nil`.
    mutating func passwordChanged(_ password: String?, username: String?) {
        handshakeConfiguration.credentials = password.map { ServerCredentials(password: $0, username: username) }
    }
}

extension ConnectionStateMachine.WriteJob: Sendable where Stream: Sendable {}
