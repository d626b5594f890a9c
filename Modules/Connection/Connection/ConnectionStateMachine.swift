/// A reply and, for a transaction, the first error among the replies queued before it.
public struct ConnectionReply: Sendable {
    /// The reply: a slice of the connection's read buffer, valid for as long as it is kept.
    public let token: RESPToken
    /// For `EXEC`, the first error a command queued before it got (`nil` otherwise).
    public let queuedError: RESPToken?
    /// For a request that collects its replies (a pipeline), every reply before `token`.
    public var earlier: [RESPToken]? = nil

    /// A reply as the connection delivers it.
    public init(token: RESPToken, queuedError: RESPToken?, earlier: [RESPToken]? = nil) {
        self.token = token
        self.queuedError = queuedError
        self.earlier = earlier
    }
}

/// How a connection behaves while it has no connection.
public struct ConnectionPolicy: Hashable, Sendable {
    /// A supervisor reconnects: after a loss the connection waits for `connectNow()` instead of
    /// reconnecting on the next request, and requests not yet sent are kept for the next connection.
    public var supervised: Bool
    /// Requests waiting for a connection stay queued through failed attempts, until their own
    /// deadline. Otherwise a failed attempt fails them, and requests arriving after it fail at
    /// once (the cluster client retries those itself, after a topology refresh).
    public var waitsThroughFailedAttempts: Bool
    /// A RESP2 subscriber connection: the server sends its messages and subscription
    /// confirmations as plain arrays, which are told apart from replies by their first element.
    public var pushesInArrays = false

    /// A policy; see each property.
    public init(supervised: Bool, waitsThroughFailedAttempts: Bool, pushesInArrays: Bool = false) {
        self.supervised = supervised
        self.waitsThroughFailedAttempts = waitsThroughFailedAttempts
        self.pushesInArrays = pushesInArrays
    }

    /// Reconnects on demand and fails what waits when an attempt fails: short-lived connections.
    public static let unsupervised = ConnectionPolicy(supervised: false, waitsThroughFailedAttempts: false)
    /// Connects once and never again: after a loss it waits for a supervisor that doesn't exist,
    /// so every later request fails at once. For a dedicated connection, whose `WATCH` or
    /// `MULTI` state a silent reconnection would drop.
    public static let neverReconnects = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: false)
}

/// One multiplexed connection to a node, as a pure state machine.
///
/// It owns the request queue, the bytes waiting to be written, the writer role and the connection
/// phase, and it decides everything; `NodeConnection` performs the actions it returns. It never
/// touches a socket or a clock, so tests drive it with strings for waiters and streams.
///
/// Phases: `idle` (never connected, or unsupervised after a loss: the next request connects) →
/// `connecting` → `handshaking` → `ready`. A loss or a failed attempt leads to `disconnected`,
/// where a supervised connection waits for its supervisor's `connectNow()`; a definitive failure
/// (credentials, TLS, settings) to `failed`; `close()` to `closed`, for good.
///
/// Requests are *sent* once their bytes were handed to a writer, and *unsent* while their bytes
/// are still in `outbound`. A lost connection fails the sent ones at once (they may have run) and
/// keeps the unsent ones for the next connection; an unsent request that is cancelled or that
/// outlives its deadline is dropped, bytes and all, and never runs.
package struct ConnectionStateMachine<Waiter, Stream> {
    package enum Phase: Equatable {
        case idle
        case connecting
        case handshaking
        case ready
        case disconnected
        case failed
        case closed
    }

    /// What became of a request besides waiting for its reply.
    package enum Fate: Equatable {
        case waiting
        /// Unsent, and dropped: its bytes go at the next write, and it never runs.
        case dropped
        /// A blocking command cancelled after it was sent: the server is asked to unblock it, and
        /// a null reply then means "cancelled", anything else is the value the server handed it.
        case unblocking
    }

    /// A request waiting for its replies, in the order the requests were queued.
    package struct Pending {
        /// Who gets the reply; `nil` once the request timed out or was cancelled, its reply still
        /// due and discarded (or, for a dropped one, never sent).
        var waiter: Waiter?
        let id: UInt64
        let deadline: Deadline
        var repliesLeft: Int
        var queuedError: RESPToken?
        /// Where its bytes end in `outbound`, while it is unsent.
        var end: RESPCommandBuffer.Mark
        let blocking: Bool
        /// A subscription command: RESP3 answers it with one confirmation push of this kind per
        /// channel, or one error reply when the server refuses the whole command.
        let confirmation: PubSubConfirmation?
        /// A pipeline's replies before its last, kept for the caller; `nil` for every other
        /// request, whose earlier replies are dropped (a transaction's `OK` and `QUEUED`).
        var collected: [RESPToken]?
        var fate: Fate
    }

    /// A waiter to resume, and with what.
    package enum Resumption {
        case reply(Waiter, ConnectionReply)
        case failure(Waiter, GlideErrorSummary)
    }

    /// Who writes: nobody, one thread (a caller or the loop), or nobody until the socket drains.
    package enum Writer {
        case idle
        case active
        case blocked(PendingWrites)
    }

    /// Bytes to write to a stream, and a buffer to hand back for reuse once they are written.
    package struct WriteJob {
        let stream: Stream
        let generation: Int
        var writes: PendingWrites
        /// The outbound buffer the writes came from, handed back for reuse once written.
        var recyclable: Bytes
    }

    /// A connection that ended, or an attempt that failed: who learns what, and what to close.
    package struct Teardown {
        /// The connection attempt it belongs to.
        let generation: Int
        /// What ended it.
        let summary: GlideErrorSummary
        /// `true` for an attempt that never became ready; `false` for a lost connection.
        let wasAttempt: Bool
        /// The stream to close, if one was open.
        var stream: Stream?
        var resumptions: [Resumption] = []
    }

    package enum ConnectedAction {
        /// Send the handshake over the new stream.
        case sendHandshake(Bytes)
        /// The attempt is stale or the client closed: close the stream.
        case discard
    }

    package enum HandshakeAction {
        case none
        case send(Bytes)
        /// Ready: flush what queued while connecting (if anything), and tell the waiters of
        /// `awaitConnection`.
        case ready(WriteJob?, ConnectionInfo, connectWaiters: [Waiter])
        /// The attempt failed.
        case failed(Teardown)
    }

    package enum AwaitConnectionAction {
        /// Queued until the attempt under way ends.
        case none
        /// Queued; start attempt `generation`.
        case connect(generation: Int)
        /// Already connected.
        case ready(Waiter)
        case fail(Waiter, GlideErrorSummary)
    }

    /// The outbound buffer's starting size; writers recycle two of them, so this is not per request.
    package static var outboundCapacity: Int { 16 * 1024 }
    /// Buffers larger than this, grown by one big request, are not kept for reuse.
    package static var largestRecycledBuffer: Int { 4 * 1024 * 1024 }

    package private(set) var phase: Phase = .idle
    /// Counts connection attempts; events of an earlier attempt are recognised and ignored.
    package private(set) var generation = 0
    package private(set) var stream: Stream?
    package private(set) var handshakeConfiguration: HandshakeConfiguration
    /// What the handshake of the current connection learned.
    package private(set) var info: ConnectionInfo?
    package var handshake: HandshakeStateMachine?
    /// When the attempt under way (connect and handshake) gives up.
    package var attemptDeadline: Deadline = .distantFuture
    package var pending = RingBuffer<Pending>(minimumCapacity: 64)
    /// `pending[..<unsentStart]` were handed to a writer; the rest are still in `outbound`.
    package var unsentStart = 0
    /// Unsent requests dropped but still in `outbound`, removed at the next write.
    package var droppedCount = 0
    package var outbound = RESPCommandBuffer(capacity: outboundCapacity)
    /// The byte buffer of a written outbound, kept to be the next outbound's.
    package var spare: Bytes?
    package var writer = Writer.idle
    /// The deadline the loop timer is armed for, or `.distantFuture`.
    package var armedTimer: Deadline = .distantFuture
    /// Waiters of `awaitConnection`: resumed by the outcome of the attempt under way.
    package var connectWaiters: [Waiter] = []
    /// Why there is no connection (`disconnected`, `failed`): what requests that can't wait learn.
    package private(set) var lastFailure: GlideErrorSummary?
    /// In `failed`: whether the next request may start an attempt (the supervisor allows it once
    /// the backoff's longest delay has passed).
    package private(set) var retryOnDemand = false
    /// Replies received, and their count at the last heartbeat check: an idle connection is one
    /// that received nothing since.
    package var repliesReceived = 0
    package var repliesAtLastCheck = 0
    package let inflightLimit: Int
    /// How long past its deadline the oldest reply may be before the connection is declared dead.
    package let staleReplyGrace: Duration
    package let connectionTimeout: Duration
    package let policy: ConnectionPolicy

    package init(
        handshake: HandshakeConfiguration, inflightLimit: Int, staleReplyGrace: Duration = .seconds(2),
        connectionTimeout: Duration = .seconds(2), policy: ConnectionPolicy = .unsupervised
    ) {
        self.handshakeConfiguration = handshake
        self.inflightLimit = inflightLimit
        self.staleReplyGrace = staleReplyGrace
        self.connectionTimeout = connectionTimeout
        self.policy = policy
    }

    /// Whether replies currently belong to the handshake.
    package var isHandshaking: Bool { phase == .handshaking }

    /// The number of requests waiting for replies or for a connection, timed-out ones included.
    package var inflightCount: Int { pending.count - droppedCount }

    // MARK: Connecting

    /// Starts a connection attempt when none runs and the connection is not ready: a
    /// supervisor's reconnection, or an eager `create`. Returns the attempt's generation.
    package mutating func connectNow() -> Int? {
        switch phase {
        case .idle, .disconnected, .failed:
            return beginConnecting()
        case .connecting, .handshaking, .ready, .closed:
            return nil
        }
    }

    /// Starts the first attempt of a connection that never connected (`idle`); nil otherwise.
    package mutating func connectIfIdle() -> Int? {
        phase == .idle ? beginConnecting() : nil
    }

    package mutating func beginConnecting() -> Int {
        phase = .connecting
        generation += 1
        retryOnDemand = false
        return generation
    }

    /// Waits for the connection: at once when ready, else for the outcome of the attempt under
    /// way (started here if none runs). The attempt's own deadline bounds the wait, so the
    /// outcome is always the attempt's: connected, refused, timed out, TLS, credentials.
    package mutating func awaitConnection(_ waiter: Waiter) -> AwaitConnectionAction {
        switch phase {
        case .ready:
            return .ready(waiter)
        case .closed:
            return .fail(waiter, Self.closedSummary)
        case .connecting, .handshaking:
            connectWaiters.append(waiter)
            return .none
        case .idle, .disconnected, .failed:
            connectWaiters.append(waiter)
            return .connect(generation: beginConnecting())
        }
    }

    /// Attempt `generation` started; it gives up at `deadline`. Returns a deadline to arm the
    /// timer for, if it is the earliest.
    package mutating func attemptStarted(generation: Int, deadline: Deadline) -> Deadline? {
        guard generation == self.generation, phase == .connecting else { return nil }
        attemptDeadline = deadline
        return arm(deadline)
    }

    /// Attempt `generation` opened `stream`.
    package mutating func connected(generation: Int, stream: Stream) -> ConnectedAction {
        guard generation == self.generation, phase == .connecting else { return .discard }
        self.stream = stream
        phase = .handshaking
        var machine = HandshakeStateMachine(configuration: handshakeConfiguration)
        let bytes = machine.start()
        handshake = machine
        return .sendHandshake(bytes)
    }

    /// Attempt `generation` could not open a stream.
    package mutating func connectFailed(generation: Int, _ summary: GlideErrorSummary) -> Teardown? {
        guard generation == self.generation, phase == .connecting else { return nil }
        return attemptFailed(summary)
    }

    /// A handshake reply arrived on the connection of `generation`.
    package mutating func handshakeReceived(_ token: RESPToken, generation: Int) -> HandshakeAction {
        guard generation == self.generation, phase == .handshaking, var machine = handshake else { return .none }
        let action = machine.receive(token)
        handshake = machine
        switch action {
        case .awaitReplies:
            return .none
        case .send(let bytes):
            return .send(bytes)
        case .ready(let info):
            phase = .ready
            handshake = nil
            self.info = info
            attemptDeadline = .distantFuture
            lastFailure = nil
            let waiters = connectWaiters
            connectWaiters = []
            guard case .idle = writer else { return .ready(nil, info, connectWaiters: waiters) }
            return .ready(takeWrites(), info, connectWaiters: waiters)
        case .failed(let summary):
            return .failed(attemptFailed(summary))
        }
    }

    /// The attempt under way failed with `summary`. A definitive failure fails everything
    /// queued; a transient one fails only what can't wait (by policy).
    package mutating func attemptFailed(_ summary: GlideErrorSummary) -> Teardown {
        var teardown = Teardown(generation: generation, summary: summary, wasAttempt: true, stream: stream)
        tearDown()
        for waiter in connectWaiters { teardown.resumptions.append(.failure(waiter, summary)) }
        connectWaiters = []
        lastFailure = summary
        if summary.isDefinitive {
            phase = .failed
            failAll(summary, into: &teardown.resumptions)
        } else {
            phase = policy.supervised ? .disconnected : .idle
            if !(policy.supervised && policy.waitsThroughFailedAttempts) { failAll(summary, into: &teardown.resumptions) }
        }
        return teardown
    }

    /// The connection of `generation` broke with `summary`. Requests already sent fail at once
    /// (they may have run); unsent ones wait for the next connection when supervised.
    package mutating func connectionLost(generation: Int, _ summary: GlideErrorSummary) -> Teardown? {
        guard generation == self.generation else { return nil }
        switch phase {
        case .handshaking:
            // Nothing was sent yet: this attempt failed to connect.
            let cause =
                summary.code == .connectionClosed
                ? GlideErrorSummary(.connectionFailed, "connecting failed: \(summary.message)", transportError: summary.transportError)
                : summary
            return attemptFailed(cause)
        case .ready:
            break
        default:
            return nil
        }
        var teardown = Teardown(generation: generation, summary: summary, wasAttempt: false, stream: stream)
        for _ in 0..<unsentStart {
            let request = pending.popFirst()!
            guard let waiter = request.waiter else { continue }
            teardown.resumptions.append(.failure(waiter, request.fate == .unblocking ? Self.cancelledSummary : summary))
        }
        unsentStart = 0
        tearDown()
        lastFailure = GlideErrorSummary(
            .connectionFailed,
            "not connected: the connection was lost (\(summary.message)) and is "
                + "being re-established", transportError: summary.transportError)
        if policy.supervised {
            phase = .disconnected
        } else {
            phase = .idle
            failAll(lastFailure!, into: &teardown.resumptions)
        }
        return teardown
    }

    /// The user closed the client: fail everything, and close the stream if there is one.
    package mutating func close() -> Teardown? {
        guard phase != .closed else { return nil }
        var teardown = Teardown(generation: generation, summary: Self.closedSummary, wasAttempt: false, stream: stream)
        tearDown()
        phase = .closed
        for waiter in connectWaiters { teardown.resumptions.append(.failure(waiter, Self.closedSummary)) }
        connectWaiters = []
        failAll(Self.closedSummary, into: &teardown.resumptions)
        return teardown
    }

    /// Fails the requests waiting for a connection with `summary` (never sent: the caller may send
    /// them elsewhere, as when the standalone primary moved). Nothing happens while ready.
    package mutating func failUnsent(_ summary: GlideErrorSummary) -> [Resumption] {
        guard phase != .ready, phase != .closed else { return [] }
        var resumptions: [Resumption] = []
        failAll(summary, into: &resumptions)
        return resumptions
    }

    /// In `failed`: the next request may start an attempt.
    package mutating func allowRetryOnDemand() {
        if phase == .failed { retryOnDemand = true }
    }

    private mutating func tearDown() {
        stream = nil
        handshake = nil
        attemptDeadline = .distantFuture
        writer = .idle
        info = nil
    }

    /// Fails every request with a waiter, sent or not; empties the queue and the outbound bytes.
    package mutating func failAll(_ summary: GlideErrorSummary, into resumptions: inout [Resumption]) {
        resumptions.reserveCapacity(resumptions.count + pending.count)
        while let request = pending.popFirst() {
            guard let waiter = request.waiter else { continue }
            resumptions.append(.failure(waiter, request.fate == .unblocking ? Self.cancelledSummary : summary))
        }
        unsentStart = 0
        droppedCount = 0
        outbound.clear()
    }

    /// Arms the timer for `deadline` when it is earlier than the armed one; returns it then.
    package mutating func arm(_ deadline: Deadline) -> Deadline? {
        guard deadline < armedTimer else { return nil }
        armedTimer = deadline
        return deadline
    }

    // MARK: Settings that survive reconnection

    /// A `SELECT` succeeded: reconnections select the same database.
    package mutating func databaseSelected(_ database: Int) {
        handshakeConfiguration.database = database
    }

    /// The password changed: reconnections authenticate as `username` with `password`, or
    /// without credentials when it is `nil`.
    package mutating func passwordChanged(_ password: String?, username: String?) {
        handshakeConfiguration.credentials = password.map { ServerCredentials(password: $0, username: username) }
    }

    // MARK: Summaries

    package static var closedSummary: GlideErrorSummary { GlideErrorSummary(.clientClosed, "the client is closed") }
    package static var cancelledSummary: GlideErrorSummary { GlideErrorSummary(.cancelled, "the request's task was cancelled") }
}

extension ConnectionStateMachine.WriteJob: Sendable where Stream: Sendable {}

/// Waiters (continuations) are resumed from any thread: a connection on another loop than its
/// observer resumes them on the observer's.
extension ConnectionStateMachine.Resumption: Sendable where Waiter: Sendable {}
