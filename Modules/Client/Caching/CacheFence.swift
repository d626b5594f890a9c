import GlideConnection
import GlideTransport

/// Confirms cache hits on one connection: a `PING` whose reply comes back after every push the
/// server sent before it, so an invalidation that was on its way has been applied by then.
///
/// One `PING` is in flight at a time. Hits that arrive meanwhile wait for the next one, which
/// is sent when the current one returns, by one of them: however many hits there are, the
/// connection carries one `PING` per round trip.
final class CacheFence: Sendable {
    typealias Waiter = UnsafeContinuation<Outcome, Never>

    enum Outcome: Sendable {
        /// The round this hit joined came back: whether the `PING` succeeded.
        case confirmed(Bool)
        /// This hit sends the next round.
        case lead
    }

    private struct State {
        var inFlight = false
        var waiting: [Waiter] = []
    }

    private let state = Lock(State())
    private let ping: @Sendable (Deadline) async -> Bool
    /// Whether the connection it pings still exists (an identifier can be reused after it goes).
    let isAlive: @Sendable () -> Bool

    /// A fence that sends its `PING` with `ping`.
    init(isAlive: @escaping @Sendable () -> Bool = { true }, ping: @escaping @Sendable (Deadline) async -> Bool) {
        self.isAlive = isAlive
        self.ping = ping
    }

    /// How many hits wait for the next round (for tests).
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Returns once a `PING` sent after this call came back, and whether it succeeded.
    func confirm(deadline: Deadline) async -> Bool {
        let outcome: Outcome = await withUnsafeContinuation { continuation in
            let leads = state.withLock { state in
                guard state.inFlight else {
                    state.inFlight = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if leads { continuation.resume(returning: .lead) }
        }
        guard case .lead = outcome else {
            if case .confirmed(let succeeded) = outcome { return succeeded }
            return false
        }
        // Everyone waiting now joined before this PING is sent: it confirms them too.
        let round = state.withLock { state in
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        let succeeded = await ping(deadline)
        let next = state.withLock { state -> Waiter? in
            guard !state.waiting.isEmpty else {
                state.inFlight = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        for waiter in round { waiter.resume(returning: .confirmed(succeeded)) }
        next?.resume(returning: .lead)
        return succeeded
    }
}
