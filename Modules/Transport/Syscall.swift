import Glibc

/// The outcome of a non-blocking call: done, or it would have blocked.
public enum IOResult<Value: Sendable>: Sendable {
    /// The call completed with this value.
    case processed(Value)
    /// The call would have blocked (`EAGAIN`/`EWOULDBLOCK`); wait for readiness and call again.
    case wouldBlock
}

/// The one funnel every system call of this module goes through.
///
/// `EINTR` is retried; `EAGAIN` becomes `.wouldBlock`; `EBADF` and `EFAULT` are bugs in this
/// library and stop the process; every other errno is thrown as a typed `TransportError`. In a
/// debug build, a call on `descriptor` may fail as a test said instead of running
/// (`KernelFaults`).
@inline(__always)
func syscall<Value: FixedWidthInteger & Sendable>(
    _ name: StaticString, descriptor: Int32? = nil, _ body: () -> Value
) throws(TransportError) -> IOResult<Value> {
    while true {
        #if DEBUG
        let result: Value
        if let descriptor, let fault = KernelFaults.take(name, on: descriptor) {
            Glibc.errno = fault.rawValue
            result = -1
        } else {
            result = body()
        }
        #else
        let result = body()
        #endif
        if result >= 0 { return .processed(result) }
        let error = Errno.current
        switch error {
        case .interrupted: continue
        case .wouldBlock: return .wouldBlock
        case .badFileDescriptor, .badAddress:
            preconditionFailure("\(name) failed with \(error): a descriptor or buffer was used after release")
        default:
            throw TransportError(.systemCall, syscall: "\(name)", errno: error)
        }
    }
}

/// The funnel for a wait whose timeout was computed before the call (`poll`): `EINTR` returns
/// `.wouldBlock` instead of waiting the whole timeout again, so the caller computes it anew.
/// Other failures are as in `syscall`.
@inline(__always)
func interruptibleSyscall<Value: FixedWidthInteger & Sendable>(
    _ name: StaticString, _ body: () -> Value
) throws(TransportError) -> IOResult<Value> {
    let result = body()
    if result >= 0 { return .processed(result) }
    let error = Errno.current
    switch error {
    case .interrupted, .wouldBlock: return .wouldBlock
    case .badFileDescriptor, .badAddress:
        preconditionFailure("\(name) failed with \(error): a descriptor or buffer was used after release")
    default:
        throw TransportError(.systemCall, syscall: "\(name)", errno: error)
    }
}

/// The same funnel for calls that cannot block: any failure throws.
@inline(__always)
func blockingSyscall<Value: FixedWidthInteger & Sendable>(
    _ name: StaticString, _ body: () -> Value
) throws(TransportError) -> Value {
    switch try syscall(name, body) {
    case .processed(let value): return value
    case .wouldBlock: throw TransportError(.systemCall, syscall: "\(name)", errno: .wouldBlock)
    }
}

/// The funnel for the calls whose failure leaves nothing to do but go on: a wake-up already
/// pending, a timer re-armed on the next turn, a socket option the kernel refused. `EINTR` is
/// retried and `EBADF`/`EFAULT` stop the process, as in `syscall`; any other failure is dropped.
@inline(__always)
func bestEffortSyscall<Value: FixedWidthInteger & Sendable>(_ name: StaticString, _ body: () -> Value) {
    _ = try? syscall(name, body)
}

/// Closes `descriptor`. Never retried: after `EINTR` the descriptor is already gone on Linux,
/// and a retry could close a descriptor another thread has just been given.
func closeDescriptor(_ descriptor: Int32) {
    let result = Glibc.close(descriptor)
    if result < 0 && errno == EBADF {
        preconditionFailure("close(\(descriptor)) failed with EBADF: closed twice")
    }
}
