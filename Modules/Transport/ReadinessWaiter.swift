/// Waits on a loop until a step over a stream finishes: the step runs on the loop thread at each
/// readiness event, and the wait ends with the step's outcome, or with `expired` at the deadline.
///
/// What a non-blocking connect and a TLS handshake have in common: register, arm the deadline,
/// step on every event, deregister once.
public final class ReadinessWaiter<Stream: ByteStream, Loop: EventLoop>: EventHandler, @unchecked Sendable {
    /// Where a step left the wait.
    public enum Progress: Sendable {
        /// Done: `nil` for success, else the failure.
        case finished(TransportError?)
        /// Wait for the next event; `forWritable` also asks for writability.
        case waiting(forWritable: Bool)
    }

    let stream: Stream
    let deadline: Deadline
    let loop: Loop
    let expired: TransportError
    let step: () -> Progress
    // Loop-thread state.
    private var continuation: UnsafeContinuation<TransportError?, Never>?
    private var registration: EventRegistration?
    /// Set when the waiting task was cancelled before the wait started.
    private var cancelled = false

    private init(stream: Stream, deadline: Deadline, loop: Loop, expired: TransportError, step: @escaping () -> Progress) {
        self.stream = stream
        self.deadline = deadline
        self.loop = loop
        self.expired = expired
        self.step = step
    }

    /// Registers `stream` on `loop`, applies `first` (or steps at once when it is `nil`), and
    /// steps on every event until a step finishes or `deadline` passes. Returns the failure, if any;
    /// a cancelled task ends the wait with a `.cancelled` failure.
    public static func wait(
        for stream: Stream, on loop: Loop, until deadline: Deadline, expired: TransportError,
        first: Progress? = nil, step: @escaping () -> Progress
    ) async -> TransportError? {
        let waiter = ReadinessWaiter(stream: stream, deadline: deadline, loop: loop, expired: expired, step: step)
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                loop.execute { waiter.start(continuation, first: first) }
            }
        } onCancel: {
            loop.execute { waiter.cancel() }
        }
    }

    private func cancel() {
        cancelled = true
        finish(TransportError(.cancelled, detail: "the task waiting for the stream was cancelled"))
    }

    private func start(_ continuation: UnsafeContinuation<TransportError?, Never>, first: Progress?) {
        self.continuation = continuation
        if cancelled {
            finish(TransportError(.cancelled, detail: "the task waiting for the stream was cancelled"))
            return
        }
        do throws(TransportError) {
            registration = try loop.register(stream, handler: self)
        } catch {
            finish(error)
            return
        }
        loop.scheduleTimer(at: deadline, handler: self)
        apply(first ?? step())
    }

    /// Steps on readability.
    public func readable() { advance() }
    /// Steps on writability.
    public func writable() { advance() }

    /// Ends the wait with `expired` once the deadline has passed.
    public func timerFired(now: Deadline) {
        guard now >= deadline else { return }
        finish(expired)
    }

    private func advance() {
        guard continuation != nil else { return }
        apply(step())
    }

    private func apply(_ progress: Progress) {
        switch progress {
        case .finished(let outcome):
            finish(outcome)
        case .waiting(let forWritable):
            if let registration { loop.setWriteInterest(forWritable, for: registration) }
        }
    }

    private func finish(_ outcome: TransportError?) {
        guard let continuation else { return }
        self.continuation = nil
        if let registration { loop.deregister(registration) }
        registration = nil
        loop.cancelTimers(for: self)
        continuation.resume(returning: outcome)
    }
}
