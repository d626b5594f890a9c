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
    /// A `MONITOR` connection: once its command is answered, the server sends a line for every
    /// command it runs. A reply no request waits for goes to the push handler, rather than ending
    /// the connection as a reply nobody asked for does elsewhere.
    public var unrequestedRepliesArePushes = false
    /// Request timeouts that follow the node's measured latency; `nil` (the default): each
    /// request's own deadline only.
    public var adaptiveTimeout: AdaptiveTimeout?

    /// A policy; see each property.
    public init(
        supervised: Bool, waitsThroughFailedAttempts: Bool, pushesInArrays: Bool = false, unrequestedRepliesArePushes: Bool = false
    ) {
        self.supervised = supervised
        self.waitsThroughFailedAttempts = waitsThroughFailedAttempts
        self.pushesInArrays = pushesInArrays
        self.unrequestedRepliesArePushes = unrequestedRepliesArePushes
    }

    /// Reconnects on demand and fails what waits when an attempt fails: short-lived connections.
    public static let unsupervised = ConnectionPolicy(supervised: false, waitsThroughFailedAttempts: false)
    /// Connects once and never again: after a loss it waits for a supervisor that doesn't exist,
    /// so every later request fails at once. For a dedicated connection, whose `WATCH` or
    /// `MULTI` state a silent reconnection would drop.
    public static let neverReconnects = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: false)
    /// A `MONITOR` connection: connects once, as `neverReconnects`, and hands the lines that
    /// follow the command to the push handler.
    public static let monitor = ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: false, unrequestedRepliesArePushes: true)
}

/// One multiplexed connection to a node, as a pure state machine.
///
/// It owns the connection's `State`, the request queue and the bytes waiting to be written, and
/// it decides everything; `NodeConnection` performs the `Action`s it returns. It never touches a
/// socket or a clock, so tests drive it with strings for waiters and streams.
///
/// Each state carries what only it has, so an illegal combination can't be written: a stream only
/// while handshaking or ready, the handshake only while handshaking, a writer and the server's
/// `ConnectionInfo` only while ready, the waiters of `awaitConnection` only while an attempt runs,
/// and the reason there is no connection only where there is none. The request queue is outside
/// the states because it outlives connections: requests not sent yet wait for the next one.
///
/// Requests are *sent* once their bytes were handed to a writer, and *unsent* while their bytes
/// are still in `outbound`. A lost connection fails the sent ones at once (they may have run) and
/// keeps the unsent ones for the next connection; an unsent request that is cancelled or that
/// outlives its deadline is dropped, bytes and all, and never runs.
package struct ConnectionStateMachine<Waiter, Stream> {
    /// Where the connection is, with what only that state has.
    ///
    /// Every state but `ready` keeps its data boxed (`indirect`), so the enum is no larger than a
    /// `Link`: the request path reads it under the lock on every request.
    package enum State {
        /// No attempt runs, and the next request starts one: never connected yet, or unsupervised
        /// after a loss (`lastFailure` says what ended the last connection).
        indirect case idle(lastFailure: GlideErrorSummary?)
        /// An attempt is opening a stream.
        indirect case connecting(Attempt)
        /// The attempt's stream is open and the handshake under way.
        indirect case handshaking(Attempt, stream: Stream, handshake: HandshakeStateMachine)
        /// Connected: requests are written and answered.
        case ready(Link)
        /// Supervised, after a loss or a failed attempt: waits for its supervisor's `connectNow()`.
        indirect case disconnected(GlideErrorSummary)
        /// A definitive failure (credentials, TLS, settings). `retryOnDemand`: the next request
        /// may start an attempt (the supervisor allows it once its longest backoff has passed).
        indirect case failed(GlideErrorSummary, retryOnDemand: Bool)
        /// Closed by the user, for good.
        case closed
        /// Transient, while a payload is changed in place: taking it out of the state first leaves
        /// its buffers uniquely referenced, so changing them doesn't copy them.
        case modifying
    }

    /// A connection attempt under way.
    package struct Attempt {
        /// When it gives up (connect and handshake); `.distantFuture` until it started.
        var deadline = Deadline.distantFuture
        /// Waiters of `awaitConnection`: resumed by its outcome.
        var waiters: [Waiter]
        /// What ended the previous connection or attempt, if anything did: what requests that
        /// outlive this attempt learn.
        let lastFailure: GlideErrorSummary?
    }

    /// A ready connection.
    package struct Link {
        let stream: Stream
        /// What the handshake learned.
        let info: ConnectionInfo
        /// While `blocked`: what the socket refused, written first when it drains; empty otherwise.
        var stalled = PendingWrites()
    }

    /// The states' names, for tests and for questions that don't need their data.
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
        /// The connection's count of replies when the request was queued: a timeout says how
        /// many the server gave since.
        var repliesAtEnqueue = 0
        /// When a sampled request was queued, in the loop clock's nanoseconds; 0 when it is not
        /// sampled. Its round trip goes into `latency`.
        var queuedAt: UInt64 = 0
        /// Its deadline is the adaptive timeout's, shorter than its caller's; cleared when it is
        /// cancelled, so a late reply lifts the timeout only for a request that timed out.
        var adaptive = false
    }

    /// A waiter to resume, and with what.
    package enum Resumption {
        case reply(Waiter, ConnectionReply)
        case failure(Waiter, GlideErrorSummary)
    }

    /// Who writes: nobody, one thread (a caller or the loop), or nobody until the socket drains.
    package enum Writer: Equatable {
        case idle
        case active
        case blocked
    }

    /// Bytes to write to a stream, and a buffer to hand back for reuse once they are written.
    package struct WriteJob {
        package let stream: Stream
        package let generation: Int
        package var writes: PendingWrites
        /// The outbound buffer the writes came from, handed back for reuse once written.
        package var recyclable: Bytes
    }

    /// A connection that ended, or an attempt that failed: who learns what, and what to close.
    package struct Teardown {
        /// The connection attempt it belongs to.
        package let generation: Int
        /// What ended it.
        package let summary: GlideErrorSummary
        /// `true` for an attempt that never became ready; `false` for a lost connection.
        package let wasAttempt: Bool
        /// The stream to close, if one was open.
        package var stream: Stream?
        /// The waiters it fails.
        package var resumptions: [Resumption] = []
    }

    /// What the machine asks its owner to do: the one answer of every event.
    package enum Action {
        case none
        /// The writer role is the caller's now: write these.
        case write(WriteJob)
        /// The socket is full, or the writer did its share: ask the loop for writability.
        case awaitWritable(generation: Int)
        /// Start connection attempt `generation`.
        case connect(generation: Int)
        /// Send these handshake bytes over the stream of attempt `generation`.
        case sendHandshake(Bytes, generation: Int)
        /// A stream no attempt wants any more (a stale attempt, a closed connection): close it.
        case discard(Stream)
        /// Ready: tell the waiters of `awaitConnection`, and write what queued while connecting.
        /// (The rare actions with large data keep it boxed, so that the frequent ones, returned
        /// for every request and reply, copy a small value.)
        indirect case ready(WriteJob?, ConnectionInfo, connectWaiters: [Waiter])
        /// Resume a waiter with its reply.
        case resume(Waiter, ConnectionReply)
        /// Resume a waiter with a failure.
        indirect case fail(Waiter, GlideErrorSummary)
        /// An out-of-band RESP3 message, not a reply.
        case push(RESPToken)
        /// A reply arrived that no request waits for on attempt `generation`: the stream can't be
        /// trusted.
        case unexpectedReply(generation: Int)
        /// A blocking command (`requestID`) cancelled after it was sent: ask the server to unblock
        /// connection `clientID` of attempt `generation`; its waiter stays until the reply.
        case unblock(clientID: Int, requestID: UInt64, generation: Int)
        /// Give up the connection of attempt `generation`, with `summary` for what was sent on it.
        indirect case loseConnection(generation: Int, GlideErrorSummary)
        /// Close what a lost connection or a failed attempt left open, and resume its waiters.
        indirect case tearDown(Teardown)
    }

    /// The outbound buffer's starting size; writers recycle two of them, so this is not per request.
    package static var outboundCapacity: Int { 16 * 1024 }
    /// Buffers larger than this, grown by one big request, are not kept for reuse.
    package static var largestRecycledBuffer: Int { 4 * 1024 * 1024 }

    package internal(set) var state = State.idle(lastFailure: nil)
    /// Who writes the ready connection's bytes; read through `readyWriter`, which is `nil` while
    /// not ready. Kept beside `state` rather than in its `Link`: the request path asks it for every
    /// request, and reading it from the enum's payload copied the whole `Link` each time.
    package internal(set) var writer = Writer.idle
    /// Batches of queued bytes handed to a writer so far: while it stays the same, a request
    /// queued since has not been written (what coalesced reads rely on).
    package internal(set) var batchesTaken = 0
    /// Counts connection attempts; events of an earlier attempt are recognised and ignored.
    package private(set) var generation = 0
    package private(set) var handshakeConfiguration: HandshakeConfiguration
    package var pending = RingBuffer<Pending>(minimumCapacity: 64)
    /// `pending[..<unsentStart]` were handed to a writer; the rest are still in `outbound`.
    package var unsentStart = 0
    /// Unsent requests dropped but still in `outbound`, removed at the next write.
    package var droppedCount = 0
    package var outbound = RESPCommandBuffer(capacity: outboundCapacity)
    /// The byte buffer of a written outbound, kept to be the next outbound's.
    package var spare: Bytes?
    /// The deadline the loop timer is armed for, or `.distantFuture`.
    package var armedTimer: Deadline = .distantFuture
    /// Replies received, and their count at the last heartbeat check: an idle connection is one
    /// that received nothing since.
    package var repliesReceived = 0
    package var repliesAtLastCheck = 0
    /// The round trips of sampled requests over the last minute.
    package var latency = LatencyWindow()
    /// The timeout the window's figures give single requests, when the policy asks for one.
    package var adaptiveTimeout: AdaptiveTimeoutState?
    /// When the replies being handed over were read: set by the reader once per batch, so a
    /// sampled request's round trip costs no clock reading of its own.
    package var replyTime = Deadline(uptimeNanoseconds: 0)
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
        self.adaptiveTimeout = policy.adaptiveTimeout.map(AdaptiveTimeoutState.init)
    }

    // MARK: Views of the state

    /// The state's name.
    package var phase: Phase {
        switch state {
        case .idle: .idle
        case .connecting: .connecting
        case .handshaking: .handshaking
        case .ready: .ready
        case .disconnected: .disconnected
        case .failed: .failed
        case .closed, .modifying: .closed
        }
    }

    /// Whether replies currently belong to the handshake.
    package var isHandshaking: Bool {
        if case .handshaking = state { true } else { false }
    }

    /// What the handshake of the current connection learned; `nil` while not ready.
    package var info: ConnectionInfo? {
        if case .ready(let link) = state { link.info } else { nil }
    }

    /// The ready connection's writer; `nil` while not ready.
    @inline(__always)
    package var readyWriter: Writer? {
        if case .ready = state { writer } else { nil }
    }

    /// The open stream, while handshaking or ready.
    package var stream: Stream? {
        switch state {
        case .handshaking(_, let stream, _): stream
        case .ready(let link): link.stream
        default: nil
        }
    }

    /// Why there is no connection: what requests that can't wait learn.
    package var lastFailure: GlideErrorSummary? {
        switch state {
        case .idle(let failure): failure
        case .connecting(let attempt), .handshaking(let attempt, _, _): attempt.lastFailure
        case .disconnected(let failure), .failed(let failure, _): failure
        case .ready, .closed, .modifying: nil
        }
    }

    /// The number of requests waiting for replies or for a connection, timed-out ones included.
    package var inflightCount: Int { pending.count - droppedCount }

    /// Changes the ready connection's link in place; `nil` when not ready.
    @inline(__always)
    package mutating func withLink<Result>(_ body: (inout Link) -> Result) -> Result? {
        guard case .ready(var link) = state else { return nil }
        state = .modifying
        defer { state = .ready(link) }
        return body(&link)
    }

    // MARK: Connecting

    /// Starts a connection attempt when none runs and the connection is not ready: a
    /// supervisor's reconnection, or an eager `create`. Returns the attempt's generation.
    package mutating func connectNow() -> Int? {
        switch state {
        case .idle, .disconnected, .failed:
            return beginConnecting()
        case .connecting, .handshaking, .ready, .closed, .modifying:
            return nil
        }
    }

    /// Starts the first attempt of a connection that never connected (`idle`); nil otherwise.
    package mutating func connectIfIdle() -> Int? {
        if case .idle = state { beginConnecting() } else { nil }
    }

    /// Starts attempt `generation + 1`, whose outcome `waiters` learn.
    package mutating func beginConnecting(waiters: [Waiter] = []) -> Int {
        state = .connecting(Attempt(waiters: waiters, lastFailure: lastFailure))
        generation += 1
        return generation
    }

    /// Waits for the connection: at once when ready, else for the outcome of the attempt under
    /// way (started here if none runs). The attempt's own deadline bounds the wait, so the
    /// outcome is always the attempt's: connected, refused, timed out, TLS, credentials.
    package mutating func awaitConnection(_ waiter: Waiter) -> Action {
        switch state {
        case .ready:
            return .resume(waiter, Self.connectedReply)
        case .closed, .modifying:
            return .fail(waiter, Self.closedSummary)
        case .connecting(var attempt):
            state = .modifying
            attempt.waiters.append(waiter)
            state = .connecting(attempt)
            return .none
        case .handshaking(var attempt, let stream, let handshake):
            state = .modifying
            attempt.waiters.append(waiter)
            state = .handshaking(attempt, stream: stream, handshake: handshake)
            return .none
        case .idle, .disconnected, .failed:
            return .connect(generation: beginConnecting(waiters: [waiter]))
        }
    }

    /// Attempt `generation` started; it gives up at `deadline`. Returns a deadline to arm the
    /// timer for, if it is the earliest.
    package mutating func attemptStarted(generation: Int, deadline: Deadline) -> Deadline? {
        guard generation == self.generation, case .connecting(var attempt) = state else { return nil }
        attempt.deadline = deadline
        state = .connecting(attempt)
        return arm(deadline)
    }

    /// Attempt `generation` opened `stream`: start its handshake.
    package mutating func connected(generation: Int, stream: Stream) -> Action {
        guard generation == self.generation, case .connecting(let attempt) = state else { return .discard(stream) }
        var handshake = HandshakeStateMachine(configuration: handshakeConfiguration)
        let bytes = handshake.start()
        state = .handshaking(attempt, stream: stream, handshake: handshake)
        return .sendHandshake(bytes, generation: generation)
    }

    /// Attempt `generation` could not open a stream.
    package mutating func connectFailed(generation: Int, _ summary: GlideErrorSummary) -> Action {
        guard generation == self.generation, case .connecting = state else { return .none }
        return .tearDown(attemptFailed(summary))
    }

    /// A handshake reply arrived on the connection of `generation`.
    package mutating func handshakeReceived(_ token: RESPToken, generation: Int) -> Action {
        guard generation == self.generation, case .handshaking(let attempt, let stream, var handshake) = state else {
            return .none
        }
        let step = handshake.receive(token)
        state = .handshaking(attempt, stream: stream, handshake: handshake)
        switch step {
        case .awaitReplies:
            return .none
        case .send(let bytes):
            return .sendHandshake(bytes, generation: generation)
        case .ready(let info):
            state = .ready(Link(stream: stream, info: info))
            writer = .idle
            return .ready(takeWrites(), info, connectWaiters: attempt.waiters)
        case .failed(let summary):
            return .tearDown(attemptFailed(summary))
        }
    }

    /// The attempt under way failed with `summary`. A definitive failure fails everything
    /// queued; a transient one fails only what can't wait (by policy).
    package mutating func attemptFailed(_ summary: GlideErrorSummary) -> Teardown {
        var teardown = Teardown(generation: generation, summary: summary, wasAttempt: true, stream: stream)
        switch state {
        case .connecting(let attempt), .handshaking(let attempt, _, _):
            for waiter in attempt.waiters { teardown.resumptions.append(.failure(waiter, summary)) }
        default:
            break
        }
        if summary.isDefinitive {
            state = .failed(summary, retryOnDemand: false)
            failAll(summary, into: &teardown.resumptions)
        } else {
            state = policy.supervised ? .disconnected(summary) : .idle(lastFailure: summary)
            if !(policy.supervised && policy.waitsThroughFailedAttempts) { failAll(summary, into: &teardown.resumptions) }
        }
        return teardown
    }

    /// The connection of `generation` broke with `summary`. Requests already sent fail at once
    /// (they may have run); unsent ones wait for the next connection when supervised.
    package mutating func connectionLost(generation: Int, _ summary: GlideErrorSummary) -> Action {
        guard generation == self.generation else { return .none }
        let stream: Stream
        switch state {
        case .handshaking:
            // Nothing was sent yet: this attempt failed to connect.
            let cause =
                summary.code == .connectionClosed
                ? GlideErrorSummary(.connectionFailed, "connecting failed: \(summary.message)", transportError: summary.transportError)
                : summary
            return .tearDown(attemptFailed(cause))
        case .ready(let link):
            stream = link.stream
        default:
            return .none
        }
        var teardown = Teardown(generation: generation, summary: summary, wasAttempt: false, stream: stream)
        for _ in 0..<unsentStart {
            let request = pending.popFirst()!
            guard let waiter = request.waiter else { continue }
            teardown.resumptions.append(.failure(waiter, request.fate == .unblocking ? Self.cancelledSummary : summary))
        }
        unsentStart = 0
        let failure = GlideErrorSummary(
            .connectionFailed,
            "not connected: the connection was lost (\(summary.message)) and is "
                + "being re-established", transportError: summary.transportError)
        if policy.supervised {
            state = .disconnected(failure)
        } else {
            state = .idle(lastFailure: failure)
            failAll(failure, into: &teardown.resumptions)
        }
        return .tearDown(teardown)
    }

    /// The user closed the client: fail everything, and close the stream if there is one.
    package mutating func close() -> Action {
        if case .closed = state { return .none }
        var teardown = Teardown(generation: generation, summary: Self.closedSummary, wasAttempt: false, stream: stream)
        switch state {
        case .connecting(let attempt), .handshaking(let attempt, _, _):
            for waiter in attempt.waiters { teardown.resumptions.append(.failure(waiter, Self.closedSummary)) }
        default:
            break
        }
        state = .closed
        failAll(Self.closedSummary, into: &teardown.resumptions)
        return .tearDown(teardown)
    }

    /// Fails the requests waiting for a connection with `summary` (never sent: the caller may send
    /// them elsewhere, as when the standalone primary moved). Nothing happens while ready.
    package mutating func failUnsent(_ summary: GlideErrorSummary) -> [Resumption] {
        switch state {
        case .ready, .closed, .modifying:
            return []
        default:
            var resumptions: [Resumption] = []
            failAll(summary, into: &resumptions)
            return resumptions
        }
    }

    /// In `failed`: the next request may start an attempt.
    package mutating func allowRetryOnDemand() {
        if case .failed(let failure, _) = state { state = .failed(failure, retryOnDemand: true) }
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
        handshakeConfiguration.databaseID = database
    }

    /// The password changed: reconnections authenticate as `username` with `password`, or
    /// without credentials when it is `nil`.
    package mutating func passwordChanged(_ password: String?, username: String?) {
        handshakeConfiguration.credentials = password.map { ServerCredentials(password: $0, username: username) }
    }

    // MARK: Summaries

    package static var closedSummary: GlideErrorSummary { GlideErrorSummary(.clientClosed, "the client is closed") }
    package static var cancelledSummary: GlideErrorSummary { GlideErrorSummary(.cancelled, "the request's task was cancelled") }

    /// What `awaitConnection` answers on a ready connection: no command was sent, so no real reply.
    package static var connectedReply: ConnectionReply {
        ConnectionReply(token: try! RESPToken(validating: Bytes("+OK\r\n")), queuedError: nil)
    }
}

extension ConnectionStateMachine.WriteJob: Sendable where Stream: Sendable {}

/// Waiters (continuations) are resumed from any thread: a connection on another loop than its
/// observer resumes them on the observer's.
extension ConnectionStateMachine.Resumption: Sendable where Waiter: Sendable {}
