import Synchronization

/// Where a test plays the kernel: the funnel (`syscall`) asks here before each call on a
/// descriptor, and a fault set for that descriptor and call makes the call fail with its errno
/// instead of running, as the kernel would (`EINTR`, `EAGAIN`, `ECONNRESET` in the middle of a
/// write…). A socket's writes may also be cut short, as a kernel with little buffer space left
/// takes only part of what it is given. Faults are per descriptor, so tests that run at once never
/// see each other's.
///
/// Only debug builds ask: a release build's funnel has no such check.
package enum KernelFaults {
    private struct Fault {
        let call: String
        /// The errno the call fails with; `nil` for a write cut short.
        let errno: Errno?
        /// For a write cut short: the most bytes it takes.
        var limit = 0
        var remaining: Int
    }

    /// The name short writes are kept under: not a system call's.
    private static let shortWrite = "short write"

    private static let faults = Lock<[Int32: [Fault]]>([:])
    /// Whether any fault is set, read before taking the lock.
    private static let armed = Atomic<Bool>(false)

    /// Makes the next `count` calls named `call` (`read`, `send`, `sendmsg`, …) on `descriptor`
    /// fail with `errno` without running.
    package static func inject(_ errno: Errno, into call: String, on descriptor: Int32, count: Int = 1) {
        faults.withLock { $0[descriptor, default: []].append(Fault(call: call, errno: errno, remaining: count)) }
        armed.store(true, ordering: .releasing)
    }

    /// Makes the next `count` writes on `descriptor` take at most `bytes` bytes, from the first
    /// buffer: the writer must write the rest later, from where the kernel stopped.
    package static func shorten(writesOn descriptor: Int32, to bytes: Int, count: Int = 1) {
        faults.withLock { $0[descriptor, default: []].append(Fault(call: shortWrite, errno: nil, limit: bytes, remaining: count)) }
        armed.store(true, ordering: .releasing)
    }

    /// Drops every fault left for `descriptor`.
    package static func clear(_ descriptor: Int32) {
        faults.withLock { faults in
            faults[descriptor] = nil
            if faults.isEmpty { armed.store(false, ordering: .releasing) }
        }
    }

    /// The errno `call` on `descriptor` fails with now, if a test set one; counts it off.
    static func take(_ call: StaticString, on descriptor: Int32) -> Errno? {
        take("\(call)", on: descriptor)?.errno
    }

    /// The most bytes the next write on `descriptor` may take, if a test cut it short; counts it off.
    static func writeLimit(on descriptor: Int32) -> Int? {
        take(shortWrite, on: descriptor)?.limit
    }

    private static func take(_ call: String, on descriptor: Int32) -> Fault? {
        guard armed.load(ordering: .acquiring) else { return nil }
        return faults.withLock { faults -> Fault? in
            guard var list = faults[descriptor], let index = list.firstIndex(where: { $0.call == call }) else { return nil }
            let fault = list[index]
            list[index].remaining -= 1
            if list[index].remaining == 0 { list.remove(at: index) }
            faults[descriptor] = list.isEmpty ? nil : list
            return fault
        }
    }
}
