extension NodeConnection {
    /// Does what the state machine decided: the one place each of its actions is carried out.
    /// The hot paths (a caller's write, a batch of replies) handle their common actions inline and
    /// hand the rest here.
    package func perform(_ action: Machine.Action) {
        switch action {
        case .none:
            break
        case .write(let job):
            onLoop { self.runWriter(job) }
        case .awaitWritable(let generation):
            onLoop {
                guard self.readGeneration.value == generation, let registration = self.registration.value else { return }
                self.loop.setWriteInterest(true, for: registration)
            }
        case .connect(let generation):
            startConnect(generation: generation)
        case .sendHandshake(let bytes, let generation):
            writeHandshake(bytes, generation: generation)
        case .discard(let stream):
            stream.close()
        case .ready(let job, let info, let waiters):
            isReady.store(true, ordering: .relaxed)
            // The observer first, so whoever waited for the connection finds the routes updated.
            let reply = Machine.connectedReply
            report(.ready(info), then: waiters.map { .reply($0, reply) })
            if let job { runWriter(job) }
        case .resume(let waiter, let reply):
            ThreadSanitizer.released(by: self)
            waiter.resume(returning: .success(reply))
        case .fail(let waiter, let summary):
            // Built before the release: the error's storage is written here and read by the waiter.
            let error = summary.error(at: address)
            ThreadSanitizer.released(by: self)
            waiter.resume(returning: .failure(error))
        case .push(let token):
            pushHandler?(token, self)
        case .unexpectedReply(let generation):
            connectionLost(
                generation: generation, GlideErrorSummary(.protocolError, "the server sent a reply no request was waiting for"))
        case .unblock(let clientID, let requestID, let generation):
            if let observer {
                observer.unblockRequested(id, clientID: clientID, requestID: requestID, generation: generation)
            } else {
                perform(.loseConnection(generation: generation, Machine.unblockDropSummary))
            }
        case .loseConnection(let generation, let summary):
            onLoop { self.connectionLost(generation: generation, summary) }
        case .tearDown(let teardown):
            tearDown(teardown)
        }
    }

    /// Resumes waiters outside the lock, with this node's address in their errors.
    package func resume(_ resumptions: [Machine.Resumption]) {
        for resumption in resumptions {
            switch resumption {
            case .reply(let waiter, let reply):
                ThreadSanitizer.released(by: self)
                waiter.resume(returning: .success(reply))
            case .failure(let waiter, let summary):
                let error = summary.error(at: address)  // its storage is written here: released after
                ThreadSanitizer.released(by: self)
                waiter.resume(returning: .failure(error))
            }
        }
    }
}
