import CGlideSystem
import Glibc

/// Which kernel interface an `EpollEventLoop` waits with.
public enum EventSelectorKind: String, Sendable, Hashable {
    /// `epoll`, `eventfd` and `timerfd`: Linux only, and the default there.
    case epoll
    /// `poll(2)`, a pipe for wake-ups and `poll`'s own timeout for timers: POSIX, so it is the
    /// shape a port to another system starts from. Each wait passes every descriptor to the
    /// kernel, so it costs more per wake-up as connections grow.
    case poll

    /// `GLIDE_EVENT_SELECTOR` (`epoll` or `poll`) when set, else `epoll`: the whole suite runs on
    /// either (`make test-poll`).
    public static var `default`: EventSelectorKind {
        guard let name = getenv("GLIDE_EVENT_SELECTOR") else { return .epoll }
        guard let kind = EventSelectorKind(rawValue: String(cString: name)) else {
            preconditionFailure("GLIDE_EVENT_SELECTOR must be epoll or poll, not \(String(cString: name))")
        }
        return kind
    }
}

/// One readiness report of a wait.
package struct SelectorEvent {
    /// The identity the descriptor was added with.
    package var id: UInt64
    /// Bytes to read, end of stream, or an error.
    package var readable: Bool
    /// Room to write.
    package var writable: Bool
}

/// What an event loop needs from the kernel: readiness of descriptors, a wake-up that any thread
/// can send, and a wait that ends at the earliest timer. Everything but `wake` runs on the loop's
/// thread. `Docs/platforms.md` says what a kqueue selector would provide.
package protocol EventSelector: AnyObject {
    /// Starts reporting `descriptor`'s read readiness (and hang-up) as `id`.
    func add(_ descriptor: Int32, id: UInt64) throws(TransportError)
    /// Reports `descriptor`'s write readiness too, or stops.
    func setWriteInterest(_ enabled: Bool, descriptor: Int32, id: UInt64)
    /// Stops reporting `descriptor`; called before it is closed.
    func remove(_ descriptor: Int32)
    /// Sets when a wait must end for the timers; `.distantFuture`: only on readiness or a wake-up.
    func arm(_ deadline: Deadline)
    /// Makes the wait in progress, or the next one, return. Any thread.
    func wake()
    /// Blocks until a descriptor is ready, a wake-up or the armed deadline. Fills `events` and
    /// returns whether the armed deadline passed (which disarms it).
    func wait(into events: inout [SelectorEvent]) -> Bool
    /// Releases the selector's own descriptors.
    func close()
}

/// epoll, with an eventfd for wake-ups and a timerfd for the armed deadline.
final class EpollSelector: EventSelector {
    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    private let timerDescriptor: Int32
    private let capacity = 128
    private let buffer: UnsafeMutablePointer<epoll_event>
    private static let wakeID: UInt64 = .max
    private static let timerID: UInt64 = .max - 1

    init() {
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        timerDescriptor = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        precondition(
            epollDescriptor >= 0 && wakeDescriptor >= 0 && timerDescriptor >= 0,
            "cannot create the event loop's descriptors: \(Errno.current)")
        buffer = .allocate(capacity: capacity)
        for (descriptor, id) in [(wakeDescriptor, Self.wakeID), (timerDescriptor, Self.timerID)] {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = id
            precondition(epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) == 0)
        }
    }

    func add(_ descriptor: Int32, id: UInt64) throws(TransportError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.u64 = id
        _ = try blockingSyscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) }
    }

    func setWriteInterest(_ enabled: Bool, descriptor: Int32, id: UInt64) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (enabled ? EPOLLOUT.rawValue : 0)
        event.data.u64 = id
        bestEffortSyscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_MOD, descriptor, &event) }
    }

    func remove(_ descriptor: Int32) {
        var event = epoll_event()
        bestEffortSyscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, descriptor, &event) }
    }

    func arm(_ deadline: Deadline) {
        var spec = itimerspec()
        if deadline != .distantFuture {
            // A zero it_value disarms the timer, so a due deadline is armed one nanosecond out.
            let at = Swift.max(deadline.uptimeNanoseconds, 1)
            spec.it_value.tv_sec = Int(at / 1_000_000_000)
            spec.it_value.tv_nsec = Int(at % 1_000_000_000)
        }
        bestEffortSyscall("timerfd_settime") { timerfd_settime(timerDescriptor, Int32(TFD_TIMER_ABSTIME), &spec, nil) }
    }

    func wake() {
        var one: UInt64 = 1
        bestEffortSyscall("write") { Glibc.write(wakeDescriptor, &one, 8) }
    }

    func wait(into events: inout [SelectorEvent]) -> Bool {
        events.removeAll(keepingCapacity: true)
        guard case .processed(let count) = try? syscall("epoll_wait", { epoll_wait(epollDescriptor, buffer, Int32(capacity), -1) })
        else { return false }
        var timerExpired = false
        for index in 0..<Int(count) {
            let event = buffer[index]
            switch event.data.u64 {
            case Self.wakeID:
                var value: UInt64 = 0
                bestEffortSyscall("read") { Glibc.read(wakeDescriptor, &value, 8) }
            case Self.timerID:
                var expirations: UInt64 = 0
                bestEffortSyscall("read") { Glibc.read(timerDescriptor, &expirations, 8) }
                timerExpired = true
            default:
                let flags = event.events
                events.append(
                    SelectorEvent(
                        id: event.data.u64,
                        readable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                        writable: flags & EPOLLOUT.rawValue != 0))
            }
        }
        return timerExpired
    }

    func close() {
        closeDescriptor(timerDescriptor)
        closeDescriptor(wakeDescriptor)
        closeDescriptor(epollDescriptor)
        buffer.deallocate()
    }
}

/// poll(2), with a pipe for wake-ups and the wait's timeout for the armed deadline: only POSIX
/// calls, so it runs wherever sockets do.
final class PollSelector: EventSelector {
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The wake pipe first, then one entry per registration; `ids` runs alongside from index 1.
    private var descriptors: [pollfd]
    private var ids: [UInt64] = [0]
    private var indexes: [Int32: Int] = [:]
    private var armed = Deadline.distantFuture

    init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "cannot create the event loop's wake-up pipe: \(Errno.current)")
        for end in ends {
            // pipe(2) and fcntl(2): pipe2's flags are not on every system.
            precondition(fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) == 0 && fcntl(end, F_SETFD, FD_CLOEXEC) == 0)
        }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
        descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
    }

    func add(_ descriptor: Int32, id: UInt64) throws(TransportError) {
        guard indexes[descriptor] == nil else {
            // What epoll_ctl says for a descriptor already watched.
            throw TransportError(.systemCall, syscall: "poll", errno: Errno(rawValue: EEXIST))
        }
        indexes[descriptor] = descriptors.count
        descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        ids.append(id)
    }

    func setWriteInterest(_ enabled: Bool, descriptor: Int32, id: UInt64) {
        guard let index = indexes[descriptor] else { return }
        descriptors[index].events = Int16(POLLIN) | (enabled ? Int16(POLLOUT) : 0)
    }

    func remove(_ descriptor: Int32) {
        guard let index = indexes.removeValue(forKey: descriptor) else { return }
        let last = descriptors.count - 1
        if index != last {
            descriptors[index] = descriptors[last]
            ids[index] = ids[last]
            indexes[descriptors[index].fd] = index
        }
        descriptors.removeLast()
        ids.removeLast()
    }

    func arm(_ deadline: Deadline) { armed = deadline }

    func wake() {
        var one: UInt8 = 1
        bestEffortSyscall("write") { Glibc.write(wakeWrite, &one, 1) }
    }

    func wait(into events: inout [SelectorEvent]) -> Bool {
        events.removeAll(keepingCapacity: true)
        let timeout = millisecondsUntilArmed()
        // A signal ends the wait early: the loop's next turn computes the timeout again.
        let count = try? interruptibleSyscall("poll") {
            descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
        }
        if case .processed(let ready)? = count, ready > 0 {
            if descriptors[0].revents != 0 { drainWakeUps() }
            var closed: [Int32] = []
            for index in 1..<descriptors.count where descriptors[index].revents != 0 {
                let flags = descriptors[index].revents
                // POLLNVAL: closed without being removed, a bug of the caller's; watching it
                // would report it on every wait.
                if flags & Int16(POLLNVAL) != 0 {
                    assertionFailure("descriptor \(descriptors[index].fd) was closed before it was deregistered")
                    closed.append(descriptors[index].fd)
                    continue
                }
                events.append(
                    SelectorEvent(
                        id: ids[index], readable: flags & Int16(POLLIN | POLLHUP | POLLERR) != 0,
                        writable: flags & Int16(POLLOUT) != 0))
            }
            for descriptor in closed { remove(descriptor) }
        }
        guard armed != .distantFuture, Deadline.now() >= armed else { return false }
        armed = .distantFuture
        return true
    }

    /// The wait's timeout: -1 with nothing armed, else the milliseconds to the deadline rounded
    /// up, so the wait never ends before a timer is due.
    private func millisecondsUntilArmed() -> Int32 {
        guard armed != .distantFuture else { return -1 }
        let now = Deadline.now()
        guard armed > now else { return 0 }
        let nanoseconds = armed.uptimeNanoseconds - now.uptimeNanoseconds
        return Int32(clamping: (nanoseconds + 999_999) / 1_000_000)
    }

    private func drainWakeUps() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while case .processed(let read)? = try? syscall("read", { Glibc.read(wakeRead, &bytes, 32) }), read > 0 {}
    }

    func close() {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
    }
}

/// The loop's selector, one of the two, called without an existential's dynamic dispatch.
enum LoopSelector {
    case epoll(EpollSelector)
    case poll(PollSelector)

    init(_ kind: EventSelectorKind) {
        switch kind {
        case .epoll: self = .epoll(EpollSelector())
        case .poll: self = .poll(PollSelector())
        }
    }

    var kind: EventSelectorKind {
        switch self {
        case .epoll: .epoll
        case .poll: .poll
        }
    }

    /// The selector itself, for the calls off the per-iteration path.
    var selector: any EventSelector {
        switch self {
        case .epoll(let selector): selector
        case .poll(let selector): selector
        }
    }

    @inline(__always) func wake() {
        switch self {
        case .epoll(let selector): selector.wake()
        case .poll(let selector): selector.wake()
        }
    }

    @inline(__always) func wait(into events: inout [SelectorEvent]) -> Bool {
        switch self {
        case .epoll(let selector): selector.wait(into: &events)
        case .poll(let selector): selector.wait(into: &events)
        }
    }

    @inline(__always) func setWriteInterest(_ enabled: Bool, descriptor: Int32, id: UInt64) {
        switch self {
        case .epoll(let selector): selector.setWriteInterest(enabled, descriptor: descriptor, id: id)
        case .poll(let selector): selector.setWriteInterest(enabled, descriptor: descriptor, id: id)
        }
    }
}
