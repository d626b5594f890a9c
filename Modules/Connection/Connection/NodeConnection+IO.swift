extension NodeConnection {
    // MARK: Writing

    /// Writes `job` and keeps writing what others queue meanwhile, up to a few rounds.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    package func runWriter(_ first: Machine.WriteJob) {
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
                onLoop {
                    self.connectionLost(
                        generation: generation, GlideErrorSummary(streamFailure: failure, .connectionClosed, "write failed: \(failure)"))
                }
                return
            }
            rounds += 1
            let mayContinue = rounds < Self.callerWriteRounds || loop.inEventLoop
            let action = machine.withLock { $0.writeFinished(&job, mayContinue: mayContinue) }
            guard case .write(let next) = action else {
                perform(action)
                return
            }
            job = next
        }
    }

    /// The socket can take more bytes again.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    public func writable() {
        if let registration = registration.value { loop.setWriteInterest(false, for: registration) }
        let generation = readGeneration.value
        guard case .write(let job) = machine.withLock({ $0.writable(generation: generation) }) else { return }
        runWriter(job)
    }

    /// Whether a caller off the loop leaves its write to a flush task: when others the loop
    /// resumed with it from one read will send too, as they run on the concurrency pool after it.
    /// The flush, queued behind them, takes all their bytes into one write; writing at once, each
    /// caller would make a system call of its own (on one core, always: each write ends before the
    /// next caller runs).
    @inline(__always)
    func deferredToPool() -> Bool {
        let left = resumedTogether.load(ordering: .relaxed)
        guard left > 1 else { return false }
        resumedTogether.wrappingSubtract(1, ordering: .relaxed)
        return true
    }

    // MARK: Reading (loop thread)

    /// Reads what the socket has, decodes every complete reply and hands each to its caller.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    public func readable() {
        guard let stream = readStream.value else { return }
        let generation = readGeneration.value
        while readStream.value != nil && readGeneration.value == generation {
            // A large reply's buffer grows with what arrived, at most doubling per read: a length
            // claim alone (a hostile or broken server's) never reserves more than one read.
            let needed = decoder.value.bytesStillNeeded(in: readBuffer.value)
            let size = readSizing.value.next
            let wanted = Swift.max(size, Swift.min(needed, readBuffer.value.readableBytes))
            if readBuffer.value.readableBytes == 0 { readBuffer.value.clear(minimumCapacity: size) }
            let result: StreamReadResult
            do throws(TransportError) {
                result = try stream.read(into: &readBuffer.value, maximumLength: wanted)
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
                readSizing.value.record(read: count, asked: wanted)
                do throws(RESPDecodeError) {
                    while let token = try decoder.value.decode(from: &readBuffer.value) { tokens.value.append(token) }
                } catch {
                    tokens.value.removeAll(keepingCapacity: true)
                    connectionLost(generation: generation, GlideErrorSummary(.protocolError, "\(error)"))
                    return
                }
                if !tokens.value.isEmpty { deliver() }
                // A short read drained the socket; level-triggered epoll reports any later bytes.
                if count < wanted { return }
            }
        }
    }

    /// Hands the decoded replies to their callers: one lock for the batch, resumes outside it.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    private func deliver() {
        var index = 0
        let generation = readGeneration.value
        var failures: [Machine.Resumption] = []
        let now = loop.now()
        while index < tokens.value.count {
            var unexpected = false
            var handshaking = false
            machine.withLock { machine in
                machine.replyTime = now
                while index < tokens.value.count {
                    if machine.isHandshaking {
                        handshaking = true
                        return
                    }
                    let action = machine.replyReceived(tokens.value[index], generation: generation)
                    // Consumed: the cases' payloads move into their bindings, with no copy to destroy after.
                    switch consume action {
                    case .none:
                        break
                    case .push(let token):
                        pushes.value.append(token)
                    case .resume(let waiter, let reply):
                        resumes.value.append((waiter, reply))
                    case .fail(let waiter, let summary):
                        failures.append(.failure(waiter, summary))
                    case .unexpectedReply:
                        unexpected = true
                        return
                    case let other:
                        assertionFailure("a reply can't lead to \(other)")
                    }
                    index += 1
                }
            }
            // Pushes first: a caller whose reply came after a message finds the message delivered.
            if !pushes.value.isEmpty {
                if let pushHandler { for push in pushes.value { pushHandler(push, self) } }
                pushes.value.removeAll(keepingCapacity: true)
            }
            ThreadSanitizer.released(by: self)
            resumedTogether.store(resumes.value.count, ordering: .relaxed)
            for (waiter, reply) in resumes.value { waiter.resume(returning: .success(reply)) }
            resumes.value.removeAll(keepingCapacity: true)
            if !failures.isEmpty {
                resume(failures)
                failures.removeAll()
            }
            if unexpected {
                tokens.value.removeAll(keepingCapacity: true)
                perform(.unexpectedReply(generation: generation))
                return
            }
            if handshaking {
                handshakeReply(tokens.value[index], generation: generation)
                index += 1
            }
            // The handshake failed, or a write failed and the connection was dropped: the rest of
            // what was read belongs to a dead connection.
            if readStream.value == nil || readGeneration.value != generation { break }
        }
        tokens.value.removeAll(keepingCapacity: true)
    }

    // MARK: Timers (loop thread)

    /// Fails overdue requests, gives up an attempt past its deadline, declares a silent
    /// connection dead, and re-arms for the next deadline.
    @_specialize(exported:false,where Loop == EpollEventLoop, Connector == SocketConnector)
    public func timerFired(now: Deadline) {
        let expiry = machine.withLock { $0.timerFired(now: now) }
        resume(expiry.resumptions)
        if let next = expiry.next { loop.scheduleTimer(at: next, handler: self) }
        perform(expiry.action)
    }
}
