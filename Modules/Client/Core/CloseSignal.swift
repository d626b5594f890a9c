import GlideTransport

/// Tells the clients' `run()` that the client was closed: what it waits for besides its task's
/// cancellation. Fired once; a wait that starts after it returns at once.
final class CloseSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [Int: UnsafeContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Lock(State())

    /// Returns once the signal fired or, when `cancellable`, the calling task is cancelled.
    func wait(cancellable: Bool = true) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                // Checked under the lock: a cancellation handler that ran before this found no
                // waiter to resume.
                let now = state.withLock { state in
                    if state.fired || (cancellable && Task.isCancelled) { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            guard cancellable else { return }
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Fires: every wait returns, and every later one at once.
    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
