public import Synchronization

/// One multiplexed connection to a node, shared by every caller: the I/O owner of a
/// `ConnectionStateMachine`.
///
/// The request path has no actor hop and no wake-up of the loop: a caller encodes its command
/// into the outbound buffer under the lock, and if nobody is writing it writes everything queued
/// itself, so requests that arrive meanwhile leave in the same write. The loop thread reads,
/// decodes, and resumes the callers' continuations. The lock is taken once per request and once
/// per batch of replies.
///
/// Its life between connections (reconnecting, heartbeats) belongs to a `ConnectionObserver`,
/// the client's supervisor, which learns every change on its own loop's thread. Without one, a lost
/// connection is opened again by the next request.
///
/// Generic over its loop and connector so tests can drive it with a manual loop and memory pipes.
/// The loop reaches it through `EventHandler`, which would run the generic code unspecialised; the
/// `@_specialize` attributes make the hot entry points jump to code compiled for the production
/// pairing (epoll and sockets) instead.
public final class NodeConnection<Loop: EventLoop, Connector: StreamConnector>: EventHandler, @unchecked Sendable {
    // @unchecked: the mutable state is the state machine under its lock, atomics, and the read
    // side, which only the loop's thread touches (`LoopBound`, asserted in debug builds).

    /// The stream the connector opens.
    public typealias Stream = Connector.Stream
    @usableFromInline package typealias Waiter = UnsafeContinuation<Result<ConnectionReply, GlideError>, Never>
    package typealias Machine = ConnectionStateMachine<Waiter, Stream>

    /// The loop whose thread reads, decodes and resumes the callers.
    public let loop: Loop
    /// Opens each attempt's stream.
    public let connector: Connector
    /// The node's address, as errors name it.
    public let address: String
    /// How long one attempt may take, handshake included.
    public let connectionTimeout: Duration
    package let machine: Lock<Machine>
    /// Identifies requests for cancellation.
    @usableFromInline package let requestIDs = Atomic<UInt64>(0)
    /// How many callers the loop's last read resumed together have not sent again; while more than
    /// one, a caller off the loop leaves its write to a flush queued behind them (`deferredToPool`).
    package let resumedTogether = Atomic<Int>(0)
    /// Whether the connection is ready, for routing decisions that must not take the lock. A hint:
    /// it can lag a loss by a moment; `info` is `nil` from the loss on.
    public let isReady = Atomic<Bool>(false)
    /// The supervisor; weak, since it owns the connection.
    package weak let observer: (any ConnectionObserver)?
    /// The observer's loop when it is not this connection's (a cluster client's connection spread
    /// to another loop): its events, and the waiters they concern, go there (see `report`).
    private let remoteObserverLoop: Loop?
    /// The connect task under way; `close()` cancels it.
    private let connectTask = Lock<Task<Void, Never>?>(nil)

    /// The most bytes one reply may take; a longer one ends the connection with `.protocolError`.
    public let maximumReplyLength: Int
    /// The node's circuit breaker, when the connection has one: while it is open, requests fail
    /// at once with `.circuitOpen`.
    public let breaker: CircuitBreaker?
    /// Whether the policy asks for adaptive timeouts: read without the lock on every request.
    let adaptsTimeouts: Bool
    /// Asked before each connection attempt for the credentials its handshake sends (`nil`:
    /// the ones it has): short-lived tokens, fetched fresh for every connection. Its time counts
    /// in the attempt's `connectionTimeout`; it should end when its task is cancelled, as a later
    /// attempt or `close()` cancels one still waiting for it.
    public let credentialsSource: (@Sendable () async -> ServerCredentials?)?

    /// The most bytes one read asks for, unless a large reply needs more.
    package static var readSize: Int { 64 * 1024 }
    /// How many batches a caller writes for others before handing the writer role to the loop.
    package static var callerWriteRounds: Int { 4 }

    // Loop-thread state: the read side of the current stream. Only the loop thread touches it,
    // which debug builds assert on every access (`LoopBound`), so the runtime's exclusivity
    // checks on it, which would run on every reply, are off.
    @exclusivity(unchecked) package var readStream: LoopBound<Stream?, Loop>
    @exclusivity(unchecked) package var readGeneration: LoopBound<Int, Loop>
    @exclusivity(unchecked) package var registration: LoopBound<EventRegistration?, Loop>
    @exclusivity(unchecked) package var readBuffer: LoopBound<Bytes, Loop>
    @exclusivity(unchecked) package var readSizing: LoopBound<ReadSizing, Loop>
    @exclusivity(unchecked) package var decoder: LoopBound<RESPDecoder, Loop>
    @exclusivity(unchecked) package var tokens: LoopBound<[RESPToken], Loop>
    @exclusivity(unchecked) package var resumes: LoopBound<[(Waiter, ConnectionReply)], Loop>
    @exclusivity(unchecked) package var pushes: LoopBound<[RESPToken], Loop>
    /// Receives the RESP3 pushes that are not replies (published messages, server-side
    /// unsubscriptions), on the loop thread; `nil` drops them.
    public let pushHandler: (@Sendable (RESPToken, NodeConnection) -> Void)?

    /// A connection, not connected yet: the first request (or `connect()`) connects.
    /// `handshake` is sent on every connection; more than `inflightLimit` requests waiting fail
    /// at once; a reply longer than `maximumReplyLength` bytes ends the connection; `policy` says
    /// how it behaves between connections; `observer` (held weakly) supervises it, on
    /// `observerLoop` when that is not `loop`; `breaker`, when given, fails requests at once while
    /// it is open; `credentialsSource`, when given, is asked for credentials before each attempt;
    /// `pushHandler` gets the RESP3 pushes that are not replies.
    public init(
        loop: Loop, connector: Connector, handshake: HandshakeConfiguration, inflightLimit: Int,
        maximumReplyLength: Int = RESPDecoder.defaultMaximumFrameLength, connectionTimeout: Duration,
        staleReplyGrace: Duration = .seconds(2),
        policy: ConnectionPolicy = .unsupervised,
        observer: (any ConnectionObserver)? = nil, observerLoop: Loop? = nil,
        breaker: CircuitBreaker? = nil, credentialsSource: (@Sendable () async -> ServerCredentials?)? = nil,
        pushHandler: (@Sendable (RESPToken, NodeConnection) -> Void)? = nil
    ) {
        self.loop = loop
        self.breaker = breaker
        self.adaptsTimeouts = policy.adaptiveTimeout != nil
        self.credentialsSource = credentialsSource
        self.remoteObserverLoop = observerLoop.flatMap { $0 === loop ? nil : $0 }
        self.pushHandler = pushHandler
        self.connector = connector
        self.address = connector.addressDescription
        self.connectionTimeout = connectionTimeout
        self.observer = observer
        self.machine = Lock(
            Machine(
                handshake: handshake, inflightLimit: inflightLimit, staleReplyGrace: staleReplyGrace,
                connectionTimeout: connectionTimeout, policy: policy))
        var tokens: [RESPToken] = []
        tokens.reserveCapacity(64)
        var resumes: [(Waiter, ConnectionReply)] = []
        resumes.reserveCapacity(64)
        self.readStream = LoopBound(nil, on: loop)
        self.readGeneration = LoopBound(0, on: loop)
        self.registration = LoopBound(nil, on: loop)
        self.readBuffer = LoopBound(Bytes(capacity: ReadSizing.initial), on: loop)
        self.readSizing = LoopBound(ReadSizing(maximum: Self.readSize), on: loop)
        self.maximumReplyLength = maximumReplyLength
        self.decoder = LoopBound(RESPDecoder(maximumFrameLength: maximumReplyLength), on: loop)
        self.tokens = LoopBound(tokens, on: loop)
        self.resumes = LoopBound(resumes, on: loop)
        self.pushes = LoopBound([], on: loop)
    }

    /// Identifies this connection to its observer.
    public var id: ObjectIdentifier { ObjectIdentifier(self) }

    /// Requests waiting for their replies now.
    public var inflightCount: Int { machine.withLock { $0.inflightCount } }

    /// Batches of queued requests handed to the socket so far: while the count stays the same, a
    /// request queued after it was read has not been sent, so it will run after anything that
    /// completed before.
    package var batchesWritten: Int { machine.withLock { $0.batchesTaken } }

    /// How fast the node has been answering over the last minute: one request in eight is timed
    /// from queueing to reply, every one under adaptive timeouts (blocking commands and pipelines
    /// are not). `nil` until one was.
    public var latency: NodeLatency? {
        let now = loop.now()
        return machine.withLock { $0.latency.latency(at: now) }
    }

    /// The timeout a single request to this node gets now under `ConnectionPolicy.adaptiveTimeout`
    /// (never past the request's own); `nil` when that is off or the node has too few samples yet.
    public var adaptiveTimeout: Duration? { machine.withLock { $0.adaptiveTimeout?.current } }

    /// Whether the connection was lost or failed and waits for its next attempt: the supervisor's
    /// to start, on its backoff. `connect()` would start one now.
    public var isDown: Bool { machine.withLock { $0.phase == .disconnected || $0.phase == .failed } }

    // MARK: Requests (any thread)

    /// Sends a request that expects `replies` replies and waits for the last one, or for `deadline`.
    ///
    /// A cancelled task gets `.cancelled`: at once for a request not sent yet (dropped, it never
    /// runs) or not blocking (its reply is discarded); a blocking command already sent is unblocked
    /// on the server first, and gets the value the server handed it if that came first.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    public func send(
        deadline: Deadline, replies: Int = 1, blocking: Bool = false, confirmation: PubSubConfirmation? = nil,
        collectsReplies: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        let id = requestIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let onLoopThread = loop.inEventLoop
        return await awaitReply(id: id, blocking: blocking) { continuation in
            submit(
                continuation, id: id, deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation,
                collectsReplies: collectsReplies, onLoopThread: onLoopThread, encode: encode)
        }
    }

    /// Waits for the reply of request `id`, which `submit` queues with the continuation it is
    /// given; cancelling the task cancels the request. Inlinable with both `send`s, so a caller in
    /// another module awaits no frame of this module's.
    @inlinable @inline(__always)
    func awaitReply(
        id: UInt64, blocking: Bool, _ submit: (UnsafeContinuation<Result<ConnectionReply, GlideError>, Never>) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        // Without a breaker the reply goes straight to the caller: held in a local for the
        // breaker, the large result would be copied once more per request.
        guard let breaker else { return await awaitReplyUnguarded(id: id, submit) }
        // An open breaker fails the request here, before it is queued or sent.
        let ticket: CircuitBreakerTicket
        switch breaker.admit(now: loop.now(), blocking: blocking) {
        case .success(let admitted): ticket = admitted
        case .failure(let error): return .failure(error)
        }
        let result = await awaitReplyUnguarded(id: id, submit)
        breaker.finished(ticket, result, now: loop.now())
        return result
    }

    /// `awaitReply` without the breaker.
    @inlinable @inline(__always)
    func awaitReplyUnguarded(
        id: UInt64, _ submit: (UnsafeContinuation<Result<ConnectionReply, GlideError>, Never>) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        defer { ThreadSanitizer.acquired(from: self) }
        // The one use of the standard library's `withTaskCancellationHandler` under its original
        // entry point, which runs where its caller does: the `isolation:` overload switches
        // executor on its own entry and return as well, and each switch locks the task's status
        // record (Docs/performance.md, "Executor switches"). Same registration, same
        // cancellation. The closure touches Sendable state only; keep it so, as this entry point
        // isn't checked for it.
        return await _unsafeInheritExecutor_withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in submit(continuation) }
        } onCancel: {
            cancelRequest(id)
        }
    }

    /// Queues a request under the lock and runs what the state machine says: the generic entry.
    @usableFromInline
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    func submit(
        _ continuation: Waiter, id: UInt64, deadline: Deadline, replies: Int, blocking: Bool, confirmation: PubSubConfirmation?,
        collectsReplies: Bool, onLoopThread: Bool, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) {
        submitRequest(
            continuation, id: id, deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation,
            collectsReplies: collectsReplies, onLoopThread: onLoopThread, encode: encode)
    }

    /// `submit`'s body, inlined into the generic entry point and into the production pairing's own.
    @inline(__always)
    func submitRequest(
        _ continuation: Waiter, id: UInt64, deadline: Deadline, replies: Int, blocking: Bool, confirmation: PubSubConfirmation?,
        collectsReplies: Bool, onLoopThread: Bool, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) {
        // One request in eight is timed (a clock reading each way), for the node's latency; every
        // one under adaptive timeouts, which count from here. A blocking command's or a
        // pipeline's wait is not the node's pace.
        let sampledAt = (id & 7 == 0 || adaptsTimeouts) && replies == 1 && !blocking ? loop.now() : nil
        let now = adaptsTimeouts ? sampledAt : nil
        // A caller on the loop thread was resumed by this turn's replies, as were others: its
        // bytes wait for the turn's one write, which the loop runs once they have all queued.
        let deferred = !onLoopThread && deferredToPool()
        let (action, armTimer) = machine.withLock { machine in
            // Checked under the lock: a cancellation handler that ran before the request was
            // queued found nothing to cancel, so the request must not be queued.
            if Task.isCancelled {
                return (action: Machine.Action.fail(continuation, Machine.cancelledSummary), armTimer: Deadline?.none)
            }
            return machine.enqueue(
                continuation, id: id, deadline: deadline, replies: replies, blocking: blocking,
                confirmation: confirmation, collectsReplies: collectsReplies, defersWrite: onLoopThread || deferred,
                sampledAt: sampledAt, now: now, encode: encode)
        }
        if let armTimer { loop.scheduleTimer(at: armTimer, handler: self) }
        // Consumed: the job moves into its binding, with no copy of the action to destroy after.
        switch consume action {
        case .none:
            break
        case .write(let job):
            if job.stream.allowsConcurrentWrites && !onLoopThread {
                if deferred {
                    // Owned by the writer role its job carries: it runs the job once and ends.
                    Task { self.runWriter(job) }
                } else {
                    runWriter(job)
                }
            } else {
                loop.execute { self.runWriter(job) }
            }
        case let other:
            perform(other)
        }
    }

    /// An id for `send(id:deadline:encode:)`, taken before the request is sent, so that another
    /// task may cancel that request with `cancel(requestID:)`.
    package func makeRequestID() -> UInt64 { requestIDs.wrappingAdd(1, ordering: .relaxed).newValue }

    /// `send` of a one-reply request under `id`, from `makeRequestID()`.
    package func send(
        id: UInt64, deadline: Deadline, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        let onLoopThread = loop.inEventLoop
        return await awaitReply(id: id, blocking: false) { continuation in
            submit(
                continuation, id: id, deadline: deadline, replies: 1, blocking: false, confirmation: nil,
                collectsReplies: false, onLoopThread: onLoopThread, encode: encode)
        }
    }

    /// Ends request `id` as its task's cancellation would: its caller gets `.cancelled` now, and
    /// its reply, should it come, is discarded. Nothing happens when it was answered already.
    package func cancel(requestID id: UInt64) { cancelRequest(id) }

    /// Cancels request `id`, from its task's cancellation handler.
    @usableFromInline
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    func cancelRequest(_ id: UInt64) {
        perform(machine.withLock { $0.cancel(id) })
    }

    /// A cancelled blocking command that can't be unblocked on the server: only closing the
    /// connection frees it (and the requests behind it).
    package func dropConnectionForUnblock(generation: Int) {
        perform(.loseConnection(generation: generation, Machine.unblockDropSummary))
    }

    /// Whether request `id` still waits for the server to unblock it.
    package func isUnblocking(_ id: UInt64) -> Bool { machine.withLock { $0.isUnblocking(id) } }

    /// Waits until the connection is ready, connecting now when it isn't and no attempt runs.
    /// The outcome is the attempt's own (refused, timed out, TLS, credentials), bounded by the
    /// connection timeout; no request timer competes with it.
    public func connect() async -> Result<Void, GlideError> {
        defer { ThreadSanitizer.acquired(from: self) }
        let result: Result<ConnectionReply, GlideError> = await withUnsafeContinuation { continuation in
            perform(machine.withLock { $0.awaitConnection(continuation) })
        }
        return result.map { _ in () }
    }

    /// Connects `connections` at once (`connect()` on each); each attempt's failure, in order.
    /// The child tasks are this call's: it returns once each has, and each ends with its attempt,
    /// bounded by the connection timeout, or at once when the connection is closed.
    public static func connect(_ connections: [NodeConnection]) async -> [GlideError?] {
        await withTaskGroup(of: (Int, GlideError?).self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    if case .failure(let error) = await connection.connect() { return (index, error) }
                    return (index, nil)
                }
            }
            var outcomes = [GlideError?](repeating: nil, count: connections.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// Starts a connection attempt unless one runs or the connection is ready: the supervisor's
    /// reconnection.
    public func connectNow() {
        if let generation = machine.withLock({ $0.connectNow() }) { startConnect(generation: generation) }
    }

    /// Starts the first attempt of a connection that never connected (a lazy client's other nodes,
    /// once one of them connected).
    package func connectIfIdle() {
        if let generation = machine.withLock({ $0.connectIfIdle() }) { startConnect(generation: generation) }
    }

    /// Lets the next request start an attempt after a definitive failure.
    package func allowRetryOnDemand() {
        machine.withLock { $0.allowRetryOnDemand() }
    }

    /// Checks an idle ready connection with a `PING` whose reply must come by `deadline`.
    package func heartbeat(deadline: Deadline) {
        let id = requestIDs.wrappingAdd(1, ordering: .relaxed).newValue
        guard let (action, armTimer) = machine.withLock({ $0.heartbeat(id: id, deadline: deadline) }) else { return }
        if let armTimer { loop.scheduleTimer(at: armTimer, handler: self) }
        perform(action)
    }

    /// Fails the requests waiting for a connection (not sent) with `summary`, so their callers
    /// can send them elsewhere.
    package func failUnsent(_ summary: GlideErrorSummary) {
        resume(machine.withLock { $0.failUnsent(summary) })
    }

    /// Remembers a successful `SELECT` for reconnections.
    public func databaseSelected(_ database: Int) {
        machine.withLock { $0.databaseSelected(database) }
    }

    /// Authenticates reconnections as `username` with `password` from now on (`nil`: with no
    /// credentials).
    public func passwordChanged(_ password: String?, username: String?) {
        machine.withLock { $0.passwordChanged(password, username: username) }
    }

    /// The database the connection selects (`databaseSelected` changes it).
    package var database: Int { machine.withLock { $0.handshakeConfiguration.databaseID } }

    /// The credentials the next handshake sends.
    public var credentials: ServerCredentials? { machine.withLock { $0.handshakeConfiguration.credentials } }

    /// What the handshake of the current connection learned; `nil` while not ready.
    public var info: ConnectionInfo? { machine.withLock { $0.info } }

    /// A short-lived connection to the same node, with the same handshake (credentials, database,
    /// name), reconnecting on demand: for commands that must not wait behind this connection's
    /// queue, such as `CLIENT UNBLOCK`.
    package func sideConnection() -> NodeConnection {
        let configuration = machine.withLock { $0.handshakeConfiguration }
        return NodeConnection(
            loop: loop, connector: connector, handshake: configuration, inflightLimit: 16,
            maximumReplyLength: maximumReplyLength, connectionTimeout: connectionTimeout, credentialsSource: credentialsSource)
    }

    /// Fails everything waiting and closes the stream; later requests fail at once. Cancels the
    /// connect under way (`attemptEnded()` waits for it to end) and this connection's timers.
    public func close() {
        isReady.store(false, ordering: .relaxed)
        let action = machine.withLock { $0.close() }
        connectTask.withLock { $0?.cancel() }
        guard case .tearDown(let teardown) = action else { return }
        resume(teardown.resumptions)
        let stream = teardown.stream
        let release: @Sendable () -> Void = { [self] in
            stopReading()
            if let stream { closeStream(stream) }
            loop.cancelTimers(for: self)
        }
        // On the loop (the supervisor closing its connections), at once: whoever awaits the
        // supervisor's close then finds no timer or registration of this connection left. On
        // another loop, queued there: `ClientCore.close()` waits for that loop to run it.
        if loop.inEventLoop { release() } else { loop.execute(release) }
    }

    /// Returns once the last connection attempt's task has ended: after `close()`, once nothing
    /// of the connection runs any more.
    public func attemptEnded() async {
        await connectTask.withLock { $0 }?.value
    }

    package func onLoop(_ work: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { work() } else { loop.execute(work) }
    }

    // MARK: Connecting

    package func startConnect(generation: Int) {
        isReady.store(false, ordering: .relaxed)
        let deadline = loop.now() + connectionTimeout
        if let armTimer = machine.withLock({ $0.attemptStarted(generation: generation, deadline: deadline) }) {
            loop.scheduleTimer(at: armTimer, handler: self)
        }
        // On the loop: the attempt resumes where its readiness is reported, and a manual loop's
        // test drives it with everything else.
        let task = Task(executorPreference: loop) { [self] in
            // Within the attempt's deadline: a provider that answers late finds its attempt given up.
            if let credentialsSource, let fresh = await credentialsSource() {
                machine.withLock { machine in
                    guard machine.generation == generation else { return }
                    machine.passwordChanged(fresh.password, username: fresh.username)
                }
            }
            do throws(TransportError) {
                let stream = try await connector.connect(deadline: deadline)
                onLoop { self.didConnect(stream, generation: generation) }
            } catch {
                onLoop { self.didFailToConnect(generation: generation, error) }
            }
        }
        // An earlier attempt's task still running (waiting for its credentials, or its stream)
        // belongs to a generation given up: it is cancelled, so one task at most outlives its attempt.
        connectTask.withLock { previous in
            previous?.cancel()
            previous = task
        }
    }

    private func didConnect(_ stream: Stream, generation: Int) {
        let action = machine.withLock { $0.connected(generation: generation, stream: stream) }
        guard case .sendHandshake(let bytes, _) = action else {
            perform(action)
            return
        }
        GlideStatistics.connections.add(1, ordering: .relaxed)
        readStream.value = stream
        readGeneration.value = generation
        decoder.value.reset()
        readBuffer.value.clear()
        do throws(TransportError) {
            registration.value = try loop.register(stream, handler: self)
        } catch {
            connectionLost(generation: generation, GlideErrorSummary(.connectionFailed, "\(error)"))
            return
        }
        writeHandshake(bytes, generation: generation)
    }

    package func writeHandshake(_ bytes: Bytes, generation: Int) {
        guard let stream = readStream.value else { return }
        var pending = bytes
        // A few hundred bytes into a fresh socket: the kernel takes them whole.
        while pending.readableBytes > 0 {
            do throws(TransportError) {
                switch try stream.write(pending) {
                case .processed(let count):
                    pending.moveReaderIndex(forwardBy: count)
                case .wouldBlock:
                    connectionLost(
                        generation: generation, GlideErrorSummary(.connectionFailed, "connecting failed: could not send the handshake"))
                    return
                }
            } catch {
                connectionLost(
                    generation: generation,
                    GlideErrorSummary(
                        streamFailure: error, .connectionFailed, "connecting failed: could not send the handshake: \(error)"))
                return
            }
        }
    }

    private func didFailToConnect(generation: Int, _ error: TransportError) {
        let failure = GlideError.connecting(error, address: address)
        let summary = GlideErrorSummary(failure.code, failure.message, transportError: error)
        perform(machine.withLock { $0.connectFailed(generation: generation, summary) })
    }

    package func handshakeReply(_ token: RESPToken, generation: Int) {
        perform(machine.withLock { $0.handshakeReceived(token, generation: generation) })
    }

    // MARK: Losing the connection (loop thread)

    package func connectionLost(generation: Int, _ summary: GlideErrorSummary) {
        perform(machine.withLock { $0.connectionLost(generation: generation, summary) })
    }

    /// Closes what a lost connection or a failed attempt left open, tells the observer, and fails
    /// the waiters: in that order, so a caller that retries finds the routes already updated.
    package func tearDown(_ teardown: Machine.Teardown) {
        isReady.store(false, ordering: .relaxed)
        if readGeneration.value == teardown.generation { stopReading() }
        if let stream = teardown.stream { closeStream(stream) }
        report(teardown.wasAttempt ? .attemptFailed(teardown.summary) : .lost(teardown.summary), then: teardown.resumptions)
    }

    /// Tells the observer of `event`, then resumes `resumptions`: here, or, when the observer runs
    /// on another loop, both there, in that order and after this connection's earlier events.
    /// Either way a caller that retries finds the observer's view already updated.
    package func report(_ event: ConnectionEvent, then resumptions: [Machine.Resumption]) {
        guard let observer, let remoteObserverLoop else {
            observer?.connectionChanged(id, event)
            resume(resumptions)
            return
        }
        remoteObserverLoop.execute { [self] in
            observer.connectionChanged(id, event)
            resume(resumptions)
        }
    }

    package func stopReading() {
        if let registration = registration.value { loop.deregister(registration) }
        registration.value = nil
        readStream.value = nil
        decoder.value.reset()
        readBuffer.value = Bytes(capacity: ReadSizing.initial)
        readSizing.value = ReadSizing(maximum: Self.readSize)
    }

    private func closeStream(_ stream: Stream) {
        stream.close()
        GlideStatistics.connections.subtract(1, ordering: .relaxed)
    }
}

/// What happened to a connection, as its observer learns it.
public enum ConnectionEvent: Sendable {
    /// The handshake finished: the connection is ready.
    case ready(ConnectionInfo)
    /// A ready connection was lost; requests sent on it failed.
    case lost(GlideErrorSummary)
    /// An attempt failed before the connection became ready (`summary.isDefinitive` says
    /// whether trying again soon can help).
    case attemptFailed(GlideErrorSummary)
}

/// Learns what happens to connections: on its own loop's thread (a connection on another loop
/// hands each event over), outside their locks.
public protocol ConnectionObserver: AnyObject, Sendable {
    /// The connection `id` changed.
    func connectionChanged(_ id: ObjectIdentifier, _ event: ConnectionEvent)
    /// A blocking command (request `requestID`) was cancelled after it was sent on attempt
    /// `generation` of connection `id`: the server's connection `clientID` must be unblocked.
    func unblockRequested(_ id: ObjectIdentifier, clientID: Int, requestID: UInt64, generation: Int)
}
