public import GlideTransport

extension TLSStream {
    /// Runs the TLS handshake over the connected `inner` on `loop`, and returns the stream once
    /// the session is established.
    ///
    /// Gives up at `deadline` (the caller's connect deadline: the handshake counts against it)
    /// with `.connectTimedOut`; a failed handshake throws one of the TLS kinds. Either way the
    /// inner stream is closed: nothing is ever sent in plain text.
    public static func connect(
        over inner: Inner, context: TLSContext, host: String, deadline: Deadline, on loop: some EventLoop
    ) async throws(TransportError) -> TLSStream {
        let stream: TLSStream
        do throws(TransportError) {
            stream = try TLSStream(over: inner, context: context, host: host)
        } catch {
            inner.close()
            throw error
        }
        let driver = TLSHandshakeDriver(stream: stream, deadline: deadline, loop: loop)
        let failure: TransportError? = await withUnsafeContinuation { driver.start($0) }
        if let failure {
            stream.close()
            throw failure
        }
        return stream
    }
}

/// Steps a handshake on the loop thread whenever the socket is ready, until it ends or the
/// deadline passes.
final class TLSHandshakeDriver<Inner: ByteStream, Loop: EventLoop>: EventHandler, @unchecked Sendable {
    let stream: TLSStream<Inner>
    let deadline: Deadline
    let loop: Loop
    // Loop-thread state.
    private var continuation: UnsafeContinuation<TransportError?, Never>?
    private var registration: EventRegistration?

    init(stream: TLSStream<Inner>, deadline: Deadline, loop: Loop) {
        self.stream = stream
        self.deadline = deadline
        self.loop = loop
    }

    func start(_ continuation: UnsafeContinuation<TransportError?, Never>) {
        loop.execute { [self] in
            self.continuation = continuation
            do throws(TransportError) {
                registration = try loop.register(stream, handler: self)
            } catch {
                finish(error)
                return
            }
            loop.scheduleTimer(at: deadline, handler: self)
            step()
        }
    }

    func readable() { step() }
    func writable() { step() }

    func timerFired(now: Deadline) {
        guard now >= deadline else { return }
        finish(TransportError(.connectTimedOut, detail: "the TLS handshake did not finish within the connect timeout"))
    }

    private func step() {
        guard continuation != nil, let registration else { return }
        switch stream.handshakeStep() {
        case .complete:
            finish(nil)
        case .failed(let error):
            finish(error)
        case .incomplete(let wantsWritable):
            loop.setWriteInterest(wantsWritable, for: registration)
        }
    }

    private func finish(_ outcome: TransportError?) {
        guard let continuation else { return }
        self.continuation = nil
        if let registration { loop.deregister(registration) }
        registration = nil
        continuation.resume(returning: outcome)
    }
}
