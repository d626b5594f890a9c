import GlideTransport

/// A wait on an event loop's clock: one timer of the loop ends it, or the waiting task's
/// cancellation does, whichever comes first.
///
/// Retries pause on the loop's clock rather than the system's, so that a manual loop's test
/// decides when they end, and the request's deadline and its pauses share one clock.
final class LoopPause: TimerHandler {
    struct State {
        var waiter: CheckedContinuation<Bool, Never>?
        /// How the pause ended, once it has: `true` when the time came.
        var outcome: Bool?
    }

    let until: Deadline
    private let state = Lock(State())

    private init(until: Deadline) {
        self.until = until
    }

    /// Waits until `until` on `loop`'s clock; `false` when the task is cancelled first.
    /// `keepsTimerOnCancel`: a cancelled pause leaves its timer to fire for nothing, rather than
    /// taking it out of the loop's queue (a search of the queue): for pauses that are nearly
    /// always cancelled, such as a hedged read's.
    static func sleep(until: Deadline, on loop: some EventLoop, keepsTimerOnCancel: Bool = false) async -> Bool {
        if Task.isCancelled { return false }
        if loop.now() >= until { return true }
        let pause = LoopPause(until: until)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if pause.wait(continuation) { loop.scheduleTimer(at: until, handler: pause) }
            }
        } onCancel: {
            pause.end(false)
            if !keepsTimerOnCancel { loop.cancelTimers(for: pause) }
        }
    }

    /// Installs the waiter; `false` when the pause already ended (cancelled before it began).
    private func wait(_ continuation: CheckedContinuation<Bool, Never>) -> Bool {
        let ended = state.withLock { state -> Bool? in
            if let outcome = state.outcome { return outcome }
            state.waiter = continuation
            return nil
        }
        guard let ended else { return true }
        continuation.resume(returning: ended)
        return false
    }

    private func end(_ outcome: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    func timerFired(now: Deadline) {
        if now >= until { end(true) }
    }

}
