import Synchronization

/// Where a test plays the kernel: the funnel (`syscall`) asks here before each call on a
/// descriptor, and a fault set for that descriptor and call makes the call fail with its errno
/// instead of running, as the kernel would (`EINTR`, `EAGAIN`, `ECONNRESET` in the middle of a
/// write…). Faults are per descriptor, so tests that run at once never see each other's.
///
/// Only debug builds ask: a release build's funnel has no such check.
package enum KernelFaults {
    private struct Fault {
        let call: String
        let errno: Errno
        var remaining: Int
    }

    private static let faults = Lock<[Int32: [Fault]]>([:])
    /// Whether any fault is set, read before taking the lock.
    private static let armed = Atomic<Bool>(false)

    /// Makes the next `count` calls named `call` (`read`, `send`, `sendmsg`, …) on `descriptor`
    /// fail with `errno` without running.
    package static func inject(_ errno: Errno, into call: String, on descriptor: Int32, count: Int = 1) {
        faults.withLock { $0[descriptor, default: []].append(Fault(call: call, errno: errno, remaining: count)) }
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
        guard armed.load(ordering: .acquiring) else { return nil }
        return faults.withLock { faults -> Errno? in
            guard var list = faults[descriptor], let index = list.firstIndex(where: { $0.call == "\(call)" }) else { return nil }
            let errno = list[index].errno
            list[index].remaining -= 1
            if list[index].remaining == 0 { list.remove(at: index) }
            faults[descriptor] = list.isEmpty ? nil : list
            return errno
        }
    }
}
