import GlideTransport
import Synchronization

/// One multiplexed connection to a node, shared by every caller: the I/O owner of a
/// `ConnectionStateMachine`.
///
/// The request path has no actor hop and no wake-up of the loop: a caller encodes its command
/// into the outbound buffer under the lock, and if nobody is writing it writes everything queued
/// itself, so requests that arrive meanwhile leave in the same write. The loop thread reads,
/// decodes, and resumes the callers' continuations. The lock is taken once per request and once
/// per batch of replies.
///
/// Generic over its loop and connector so tests can drive it with a manual loop and memory pipes.
/// The loop reaches it through `EventHandler`, which would run the generic code unspecialised; the
/// `@_specialize` attributes make the hot entry points jump to code compiled for the production
/// pairing (epoll and sockets) instead.
final class NodeConnection<Loop: EventLoop, Connector: StreamConnector>: EventHandler, @unchecked Sendable {
    typealias Stream = Connector.Stream
    typealias Waiter = UnsafeContinuation<Result<ConnectionReply, GlideError>, Never>
    typealias Machine = ConnectionStateMachine<Waiter, Stream>

    let loop: Loop
    let connector: Connector
    let address: String
    let connectionTimeout: Duration
    let machine: Mutex<Machine>

    /// The most bytes one read asks for, unless a large reply needs more.
    static var readSize: Int { 64 * 1024 }
    /// How many batches a caller writes for others before handing the writer role to the loop.
    static var callerWriteRounds: Int { 4 }

    // Loop-thread state: the read side of the current stream. Only the loop thread touches it, so
    // the runtime's exclusivity checks (a few per reply, most of this path's user time) are off.
    @exclusivity(unchecked) private var readStream: Stream?
    @exclusivity(unchecked) private var readGeneration = 0
    @exclusivity(unchecked) private var registration: EventRegistration?
    @exclusivity(unchecked) private var readBuffer = Bytes(capacity: 64 * 1024)
    @exclusivity(unchecked) private var decoder = RESPDecoder()
    @exclusivity(unchecked) private var tokens: [RESPToken] = []
    @exclusivity(unchecked) private var resumes: [(Waiter, ConnectionReply)] = []

    init(loop: Loop, connector: Connector, handshake: HandshakeConfiguration, inflightLimit: Int,
         connectionTimeout: Duration, staleReplyGrace: Duration = .seconds(2)) {
        self.loop = loop
        self.connector = connector
        self.address = connector.addressDescription
        self.connectionTimeout = connectionTimeout
        self.machine = Mutex(Machine(handshake: handshake, inflightLimit: inflightLimit, staleReplyGrace: staleReplyGrace))
        tokens.reserveCapacity(64)
        resumes.reserveCapacity(64)
    }

    // MARK: Requests (any thread)

    /// Sends a request that expects `replies` replies and waits for the last one, or for `deadline`.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    func send(deadline: Deadline, replies: Int = 1, encode: @Sendable (inout RESPCommandBuffer) -> Void) async -> Result<ConnectionReply, GlideError> {
        await withUnsafeContinuation { continuation in
            let outcome = machine.withLock {
                $0.enqueue(continuation, deadline: deadline, replies: replies, encode: encode)
            }
            if let armTimer = outcome.armTimer { loop.scheduleTimer(at: armTimer, handler: self) }
            switch outcome.action {
            case .none:
                break
            case .write(let job):
                if job.stream.allowsConcurrentWrites {
                    runWriter(job)
                } else {
                    loop.execute { self.runWriter(job) }
                }
            case .connect(let generation):
                startConnect(generation: generation)
            case .fail(let waiter, let summary):
                waiter.resume(returning: .failure(summary.error(at: address)))
            }
        }
    }

    /// Opens the connection now instead of on the first request.
    func connectInBackground() {
        if let generation = machine.withLock({ $0.connectNow() }) { startConnect(generation: generation) }
    }

    /// Remembers a successful `SELECT` for reconnections.
    func databaseSelected(_ database: Int) {
        machine.withLock { $0.databaseSelected(database) }
    }

    /// Authenticates reconnections as `username` with `password` from now on (`nil`: with no
    /// credentials).
    func passwordChanged(_ password: String?, username: String?) {
        machine.withLock { $0.passwordChanged(password, username: username) }
    }

    /// The credentials the next handshake sends.
    var credentials: ServerCredentials? { machine.withLock { $0.handshakeConfiguration.credentials } }

    /// Fails everything waiting and closes the stream; later requests fail at once.
    func close() {
        let (waiters, stream) = machine.withLock { $0.close() }
        let error = GlideError(.clientClosed, "the client was closed", address: address)
        for waiter in waiters { waiter.resume(returning: .failure(error)) }
        loop.execute { [self] in
            stopReading()
            if let stream { closeStream(stream) }
        }
    }

    // MARK: Writing

    /// Writes `job` and keeps writing what others queue meanwhile, up to a few rounds.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    private func runWriter(_ first: Machine.WriteJob) {
        var job = first
        var rounds = 0
        while true {
            var failure: TransportError?
            writing: while !job.writes.isEmpty {
                do throws(TransportError) {
                    let stream = job.stream
                    switch try job.writes.withVectors({ vectors throws(TransportError) in try stream.write(vectors: vectors) }) {
                    case .processed(let count): job.writes.didWrite(count)
                    case .wouldBlock: break writing
                    }
                } catch {
                    failure = error
                    break writing
                }
            }
            if let failure {
                let generation = job.generation
                onLoop { self.connectionLost(generation: generation, GlideErrorSummary(streamFailure: failure, .connectionClosed, "write failed: \(failure)")) }
                return
            }
            rounds += 1
            let mayContinue = rounds < Self.callerWriteRounds || loop.inEventLoop
            let action = machine.withLock { $0.writeFinished(&job, mayContinue: mayContinue) }
            switch action {
            case .none:
                return
            case .write(let next):
                job = next
            case .awaitWritable(let generation):
                onLoop {
                    guard self.readGeneration == generation, let registration = self.registration else { return }
                    self.loop.setWriteInterest(true, for: registration)
                }
                return
            }
        }
    }

    private func onLoop(_ work: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { work() } else { loop.execute(work) }
    }

    /// The socket can take more bytes again.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    func writable() {
        if let registration { loop.setWriteInterest(false, for: registration) }
        guard let job = machine.withLock({ $0.writable(generation: readGeneration) }) else { return }
        runWriter(job)
    }

    // MARK: Reading (loop thread)

    /// Reads what the socket has, decodes every complete reply and hands each to its caller.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    func readable() {
        guard let stream = readStream else { return }
        let generation = readGeneration
        while readStream != nil && readGeneration == generation {
            let wanted = Swift.max(Self.readSize, decoder.bytesStillNeeded(in: readBuffer))
            if readBuffer.readableBytes == 0 { readBuffer.clear(minimumCapacity: Self.readSize) }
            let result: StreamReadResult
            do throws(TransportError) {
                result = try stream.read(into: &readBuffer, maximumLength: wanted)
            } catch {
                connectionLost(generation: generation, GlideErrorSummary(streamFailure: error, .connectionClosed, "read failed: \(error)"))
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfStream:
                connectionLost(generation: generation, GlideErrorSummary(.connectionClosed, "the server closed the connection"))
                return
            case .bytes(let count):
                do throws(RESPDecodeError) {
                    while let token = try decoder.decode(from: &readBuffer) { tokens.append(token) }
                } catch {
                    tokens.removeAll(keepingCapacity: true)
                    connectionLost(generation: generation, GlideErrorSummary(.protocolError, "\(error)"))
                    return
                }
                if !tokens.isEmpty { deliver() }
                // A short read drained the socket; level-triggered epoll reports any later bytes.
                if count < wanted { return }
            }
        }
    }

    /// Hands the decoded replies to their callers: one lock for the batch, resumes outside it.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    private func deliver() {
        var index = 0
        let generation = readGeneration
        while index < tokens.count {
            var unexpected = false
            var handshaking = false
            machine.withLock { machine in
                while index < tokens.count {
                    if machine.isHandshaking {
                        handshaking = true
                        return
                    }
                    switch machine.replyReceived(tokens[index], generation: generation) {
                    case .none, .push:
                        break  // push messages are dropped until the pub/sub layer consumes them
                    case .resume(let waiter, let reply):
                        resumes.append((waiter, reply))
                    case .unexpectedReply:
                        unexpected = true
                        return
                    }
                    index += 1
                }
            }
            for (waiter, reply) in resumes { waiter.resume(returning: .success(reply)) }
            resumes.removeAll(keepingCapacity: true)
            if unexpected {
                tokens.removeAll(keepingCapacity: true)
                connectionLost(generation: generation, GlideErrorSummary(.protocolError, "the server sent a reply no request was waiting for"))
                return
            }
            if handshaking {
                handshakeReply(tokens[index], generation: generation)
                index += 1
            }
            // The handshake failed, or a write failed and the connection was dropped: the rest of
            // what was read belongs to a dead connection.
            if readStream == nil || readGeneration != generation { break }
        }
        tokens.removeAll(keepingCapacity: true)
    }

    private func handshakeReply(_ token: RESPToken, generation: Int) {
        switch machine.withLock({ $0.handshakeReceived(token, generation: generation) }) {
        case .none:
            break
        case .send(let bytes):
            writeHandshake(bytes, generation: generation)
        case .ready(let job):
            if let job { runWriter(job) }
        case .failed(let waiters, let summary, let stream):
            stopReading()
            if let stream { closeStream(stream) }
            let error = summary.error(at: address)
            for waiter in waiters { waiter.resume(returning: .failure(error)) }
        }
    }

    // MARK: Timers (loop thread)

    /// Times out overdue requests and re-arms for the next deadline.
    @_specialize(exported: false, where Loop == EpollEventLoop, Connector == SocketConnector)
    func timerFired(now: Deadline) {
        let outcome = machine.withLock { $0.timerFired(now: now) }
        if !outcome.expired.isEmpty {
            let error = GlideError(.timeout, "no reply within the request timeout", address: address)
            for waiter in outcome.expired { waiter.resume(returning: .failure(error)) }
        }
        if let next = outcome.next { loop.scheduleTimer(at: next, handler: self) }
        if outcome.handshakeTimedOut {
            connectionLost(generation: readGeneration, GlideErrorSummary(
                .connectionFailed, "the server did not answer the connection handshake within \(connectionTimeout)"))
        }
        if outcome.connectionStale {
            connectionLost(generation: readGeneration, GlideErrorSummary(
                .connectionClosed, "the server stopped answering: a reply is overdue well past its timeout"))
        }
    }

    // MARK: Connecting

    private func startConnect(generation: Int) {
        let deadline = loop.now() + connectionTimeout
        Task { [self] in
            do throws(TransportError) {
                let stream = try await connector.connect(deadline: deadline)
                onLoop { self.didConnect(stream, generation: generation, deadline: deadline) }
            } catch {
                onLoop { self.didFailToConnect(generation: generation, error) }
            }
        }
    }

    private func didConnect(_ stream: Stream, generation: Int, deadline: Deadline) {
        guard case .sendHandshake(let bytes, let armTimer) = machine.withLock({
            $0.connected(generation: generation, stream: stream, handshakeDeadline: deadline)
        }) else {
            stream.close()
            return
        }
        GlideStatistics.connections.add(1, ordering: .relaxed)
        readStream = stream
        readGeneration = generation
        decoder.reset()
        readBuffer.clear()
        do throws(TransportError) {
            registration = try loop.register(stream, handler: self)
        } catch {
            connectionLost(generation: generation, GlideErrorSummary(.connectionFailed, "\(error)"))
            return
        }
        if let armTimer { loop.scheduleTimer(at: armTimer, handler: self) }
        writeHandshake(bytes, generation: generation)
    }

    private func writeHandshake(_ bytes: Bytes, generation: Int) {
        guard let stream = readStream else { return }
        var pending = bytes
        // A few hundred bytes into a fresh socket: the kernel takes them whole.
        while pending.readableBytes > 0 {
            do throws(TransportError) {
                switch try stream.write(pending) {
                case .processed(let count):
                    pending.moveReaderIndex(forwardBy: count)
                case .wouldBlock:
                    connectionLost(generation: generation, GlideErrorSummary(.connectionFailed, "could not send the connection handshake"))
                    return
                }
            } catch {
                connectionLost(generation: generation, GlideErrorSummary(
                    streamFailure: error, .connectionFailed, "could not send the connection handshake: \(error)"))
                return
            }
        }
    }

    private func didFailToConnect(generation: Int, _ error: TransportError) {
        let waiters = machine.withLock { $0.connectFailed(generation: generation) }
        let failure = GlideError.connecting(error, address: address)
        for waiter in waiters { waiter.resume(returning: .failure(failure)) }
    }

    // MARK: Losing the connection (loop thread)

    private func connectionLost(generation: Int, _ summary: GlideErrorSummary) {
        let (waiters, stream, duringHandshake) = machine.withLock { $0.connectionLost(generation: generation) }
        if readGeneration == generation { stopReading() }
        if let stream { closeStream(stream) }
        // Before the handshake finished nothing was sent: connecting failed, nothing was lost.
        let error = duringHandshake && summary.code == .connectionClosed
            ? GlideError(.connectionFailed, "connecting failed: \(summary.message)", address: address, transportError: summary.transportError)
            : summary.error(at: address)
        for waiter in waiters { waiter.resume(returning: .failure(error)) }
    }

    private func stopReading() {
        if let registration { loop.deregister(registration) }
        registration = nil
        readStream = nil
        decoder.reset()
        readBuffer = Bytes(capacity: Self.readSize)
    }

    private func closeStream(_ stream: Stream) {
        stream.close()
        GlideStatistics.connections.subtract(1, ordering: .relaxed)
    }
}
