public import GlideTransport
import Synchronization

/// One node's circuit breaker, shared by every caller of its connection: the owner of a
/// `CircuitBreakerStateMachine` under a lock.
///
/// While the breaker is closed and nothing failed since the last success, a request takes no
/// lock: it reads one atomic word on the way in and one on the way out, which mirror what the
/// machine says after each change.
public final class CircuitBreaker: Sendable {
    package typealias Machine = CircuitBreakerStateMachine

    /// The node's address, as errors name it.
    public let address: String
    private let machine: Lock<Machine>
    /// The machine's epoch, shifted left by 2, with bit 0 set while every request passes
    /// (`admitsAll`) and bit 1 while a success changes nothing (`successIsNoOp`).
    private let mirror: Atomic<UInt64>
    private let onChange: @Sendable (_ opened: Bool, _ description: String) -> Void

    /// A closed breaker for the node at `address`; `onChange` learns each opening and closing,
    /// with a sentence for the log, outside the lock.
    public init(
        _ configuration: CircuitBreakerConfiguration, address: String,
        onChange: @escaping @Sendable (_ opened: Bool, _ description: String) -> Void = { _, _ in }
    ) {
        self.address = address
        let machine = Machine(configuration)
        self.machine = Lock(machine)
        self.mirror = Atomic(Self.mirror(of: machine))
        self.onChange = onChange
    }

    /// Whether every request passes now.
    public var isClosed: Bool { mirror.load(ordering: .relaxed) & 1 != 0 }

    /// Asks to send a request at `now`: the admission to hand back to `finished`, or the error to
    /// fail the request with at once. A blocking command passes `blocking`: it goes only while the
    /// breaker is closed, never as its probe.
    @inlinable
    public func admit(now: @autoclosure () -> Deadline, blocking: Bool = false) -> Result<CircuitBreakerTicket, GlideError> {
        let word = mirrorWord
        if word & 1 != 0 { return .success(CircuitBreakerTicket(epoch: word >> 2, isProbe: false)) }
        return admitSlowly(now: now(), blocking: blocking)
    }

    /// A request admitted with `ticket` ended with `result` at `now` (read only when it counts).
    @inlinable
    public func finished(_ ticket: CircuitBreakerTicket, _ result: Result<ConnectionReply, GlideError>, now: @autoclosure () -> Deadline) {
        // A success that changes nothing: closed, nothing failed since the last success, no window.
        if case .success = result, !ticket.isProbe, mirrorWord == ticket.epoch << 2 | 3 { return }
        finishedSlowly(ticket, result, now: now())
    }

    @usableFromInline var mirrorWord: UInt64 { mirror.load(ordering: .relaxed) }

    @usableFromInline
    func admitSlowly(now: Deadline, blocking: Bool) -> Result<CircuitBreakerTicket, GlideError> {
        let admission = machine.withLock { machine in
            defer { mirror.store(Self.mirror(of: machine), ordering: .relaxed) }
            return machine.admit(now: now, mayProbe: !blocking)
        }
        switch admission {
        case .pass(let epoch): return .success(CircuitBreakerTicket(epoch: epoch, isProbe: false))
        case .probe(let epoch): return .success(CircuitBreakerTicket(epoch: epoch, isProbe: true))
        case .reject(let probeAt):
            GlideStatistics.circuitBreakerRejections.add(1, ordering: .relaxed)
            let when =
                switch probeAt {
                case nil: "its probe request is in flight"
                case let at? where at > now: "a probe request goes in \(Self.milliseconds(at - now)) ms"
                case _?: "the next request that is not a blocking command goes as its probe"
                }
            return .failure(GlideError(.circuitOpen, "the circuit breaker of \(address) is open: \(when)", address: address))
        }
    }

    @usableFromInline
    func finishedSlowly(_ ticket: CircuitBreakerTicket, _ result: Result<ConnectionReply, GlideError>, now: Deadline) {
        let change = machine.withLock { machine in
            defer { mirror.store(Self.mirror(of: machine), ordering: .relaxed) }
            return machine.record(Self.outcome(of: result), epoch: ticket.epoch, now: now)
        }
        switch change {
        case nil:
            break
        case .opened(let until, let trips, let reason)?:
            GlideStatistics.circuitBreakerOpenings.add(1, ordering: .relaxed)
            onChange(true, Self.describe(reason, lasting: until - now, trips: trips, address: address))
        case .closed?:
            onChange(false, "the circuit breaker of \(address) closed: its probe request succeeded")
        }
    }

    /// How the breaker counts a request's result: only the node's own failures count against it.
    static func outcome(of result: Result<ConnectionReply, GlideError>) -> Machine.Outcome {
        guard case .failure(let error) = result else { return .success }
        switch error.code {
        case .timeout, .connectionClosed, .connectionFailed, .protocolError: return .failure
        default: return .neutral
        }
    }

    private static func mirror(of machine: Machine) -> UInt64 {
        machine.epoch << 2 | (machine.admitsAll ? 1 : 0) | (machine.successIsNoOp ? 2 : 0)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(Deadline.nanoseconds(max(duration, .zero)) / 1_000_000)
    }

    private static func describe(_ reason: Machine.Reason, lasting: Duration, trips: Int, address: String) -> String {
        let why =
            switch reason {
            case .consecutiveFailures(let count): "\(count) requests failed in a row"
            case .failureRate(let failures, let requests): "\(failures) of the last \(requests) requests failed"
            case .probeFailed: "its probe request failed (\(trips) openings in a row)"
            }
        return "the circuit breaker of \(address) opened: \(why); requests to it fail at once for \(milliseconds(lasting)) ms"
    }
}

/// What `CircuitBreaker.admit` lets through, handed back to `finished` with the request's result.
public struct CircuitBreakerTicket: Sendable {
    /// The breaker's epoch when it was admitted.
    @usableFromInline let epoch: UInt64
    /// Whether it is the half-open breaker's probe.
    @usableFromInline let isProbe: Bool

    @usableFromInline init(epoch: UInt64, isProbe: Bool) {
        self.epoch = epoch
        self.isProbe = isProbe
    }
}
