import CGlideSystem
import Glibc
import Synchronization

/// An event loop on its own thread, driven by `epoll` (or by `poll(2)`: see `EventSelectorKind`).
///
/// - Wake-ups (an `eventfd`, or a pipe) are sent only when no wake-up is already pending.
/// - The selector is armed for the earliest timer (a `timerfd`, or the wait's timeout), and
///   re-armed only when that changes.
/// - Level-triggered; write interest is registered only while a writer is blocked.
/// - Each registration's slot and generation are packed into the identity the selector reports,
///   so an event for a descriptor that was closed and reused is recognised as stale and dropped.
public final class EpollEventLoop: EventLoop, @unchecked Sendable {
    /// The first loop of `EpollEventLoopGroup.shared`. Started on first use.
    public static var shared: EpollEventLoop { EpollEventLoopGroup.shared.loops[0] }

    let name: String
    /// The kernel interface the loop waits with.
    let selector: LoopSelector
    let tasks = Lock(RingBuffer<@Sendable () -> Void>(minimumCapacity: 64))
    /// Swift jobs to run on the loop thread; `isolated` marks a job of an actor that runs here.
    let jobs = Lock(RingBuffer<(job: UnownedJob, isolated: Bool)>(minimumCapacity: 64))
    let wakePending = Atomic<Bool>(false)
    let timers = Lock(TimerQueue())
    /// The earliest timer's deadline, mirrored outside the lock so an idle loop iteration can see
    /// that nothing changed without taking it.
    let earliestTimer = Atomic<UInt64>(.max)
    let stopRequested = Atomic<Bool>(false)
    /// The executor of the actors that run on this loop.
    private(set) var actors: LoopActorExecutor!
    let threadID = Atomic<UInt>(0)

    /// What only the loop thread touches: registrations, the armed timer, drained batches.
    struct LoopState {
        var slots: [Slot] = []
        var freeSlots: [Int] = []
        var armedDeadline: Deadline = .distantFuture
        /// Drained batches, swapped with the shared queues so draining allocates nothing.
        var taskBatch = RingBuffer<@Sendable () -> Void>(minimumCapacity: 64)
        var jobBatch = RingBuffer<(job: UnownedJob, isolated: Bool)>(minimumCapacity: 64)
        /// Set when the loop thread itself queues a task or job, which sends no wake-up: the loop
        /// drains again before it blocks.
        var queuedOnLoop = false
        /// What the last wait reported, kept so waiting allocates nothing.
        var events: [SelectorEvent] = []
    }

    // Only the loop thread touches it, which debug builds assert on every access (`loopState`),
    // so the runtime's exclusivity checks (paid on every mutation of a class property) are off.
    @exclusivity(unchecked) private var unguardedLoopState = LoopState()

    /// The loop thread's own state: on the loop's thread only, asserted in debug builds.
    var loopState: LoopState {
        _read {
            assert(inEventLoop, "an event loop's own state touched off its thread")
            yield unguardedLoopState
        }
        _modify {
            assert(inEventLoop, "an event loop's own state touched off its thread")
            yield &unguardedLoopState
        }
    }

    struct Slot {
        var generation: UInt32 = 0
        var handler: (any EventHandler)?
        var descriptor: Int32 = -1
        var writeInterest = false
    }

    /// Starts a loop thread called `name` that waits with `selector` (by default `epoll`, or
    /// what `GLIDE_EVENT_SELECTOR` says).
    public init(name: String, selector: EventSelectorKind = .default) {
        self.name = name
        self.selector = LoopSelector(selector)
        actors = LoopActorExecutor(loop: self)
        startThread(named: name) { [self] in run() }
    }

    /// The kernel interface the loop waits with.
    public var selectorKind: EventSelectorKind { selector.kind }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool { threadID.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// A thread-specific mark that loop threads set: it ends with its thread, so a new thread
    /// that reuses a finished loop thread's identifier starts unmarked.
    private static let loopThreadMark: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the calling thread runs an event loop (any loop, not only this one): code that
    /// would block its thread must not run there.
    public static var currentThreadRunsALoop: Bool { pthread_getspecific(loopThreadMark) != nil }

    /// Runs `task` on the loop thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        if inEventLoop { loopState.queuedOnLoop = true } else { wake() }
    }

    /// Makes the loop return from its wait, unless a wake-up is already on its way.
    func wake() {
        // One eventfd write per burst of submissions, not one per submission.
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        selector.wake()
    }

    /// Asks the loop thread to finish; pending tasks still run. The shared group's loops are never stopped.
    public func shutdown() {
        precondition(
            !EpollEventLoopGroup.shared.loops.contains { $0 === self }, "the shared event loops live as long as the process")
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// The monotonic clock.
    public func now() -> Deadline { .now() }

    // MARK: Registration (loop thread only)

    /// Registers `stream`'s descriptor for read readiness.
    public func register(_ stream: some ByteStream, handler: some EventHandler) throws(TransportError) -> EventRegistration {
        precondition(inEventLoop, "register must run on the event loop thread")
        guard let descriptor = stream.selectableDescriptor else {
            throw TransportError(.unsupported, detail: "stream has no descriptor to wait on")
        }
        let index: Int
        if let free = loopState.freeSlots.popLast() {
            index = free
        } else {
            index = loopState.slots.count
            loopState.slots.append(Slot())
        }
        loopState.slots[index].generation &+= 1
        loopState.slots[index].handler = handler
        loopState.slots[index].descriptor = descriptor
        loopState.slots[index].writeInterest = false
        let registration = EventRegistration(id: UInt64(loopState.slots[index].generation) << 32 | UInt64(index))
        do {
            try selector.selector.add(descriptor, id: registration.id)
        } catch {
            release(index)
            throw error
        }
        return registration
    }

    /// Turns write readiness reports on or off for `registration`.
    public func setWriteInterest(_ enabled: Bool, for registration: EventRegistration) {
        precondition(inEventLoop, "setWriteInterest must run on the event loop thread")
        guard let index = liveSlot(registration), loopState.slots[index].writeInterest != enabled else { return }
        loopState.slots[index].writeInterest = enabled
        selector.setWriteInterest(enabled, descriptor: loopState.slots[index].descriptor, id: registration.id)
    }

    /// Removes `registration`; call before closing its descriptor.
    public func deregister(_ registration: EventRegistration) {
        precondition(inEventLoop, "deregister must run on the event loop thread")
        guard let index = liveSlot(registration) else { return }
        selector.selector.remove(loopState.slots[index].descriptor)
        release(index)
    }

    private func release(_ index: Int) {
        loopState.slots[index].handler = nil
        loopState.slots[index].descriptor = -1
        loopState.slots[index].generation &+= 1
        loopState.freeSlots.append(index)
    }

    private func liveSlot(_ registration: EventRegistration) -> Int? {
        let index = Int(registration.id & 0xFFFF_FFFF)
        guard index < loopState.slots.count, loopState.slots[index].generation == UInt32(registration.id >> 32),
            loopState.slots[index].handler != nil
        else { return nil }
        return index
    }

    // MARK: Timers

    /// Schedules `handler.timerFired` for `deadline`.
    public func scheduleTimer(at deadline: Deadline, handler: some TimerHandler) {
        let earliest = timers.withLock { queue in
            queue.push(deadline, handler)
            earliestTimer.store(queue.earliest.uptimeNanoseconds, ordering: .releasing)
            return queue.earliest
        }
        // Only an earlier deadline than the one armed needs the loop's attention.
        if earliest == deadline && !inEventLoop { wake() }
    }

    /// Drops the timers scheduled for `handler`.
    public func cancelTimers(for handler: some TimerHandler) {
        timers.withLock { queue in
            queue.remove { $0 === handler }
            earliestTimer.store(queue.earliest.uptimeNanoseconds, ordering: .releasing)
        }
    }

    /// The number of timers scheduled and not yet fired, for tests.
    public var pendingTimerCount: Int { timers.withLock { $0.count } }

    /// The number of live registrations, counted on the loop thread, for tests.
    public var registrationCount: Int {
        get async {
            await withCheckedContinuation { continuation in
                execute { continuation.resume(returning: self.loopState.slots.count - self.loopState.freeSlots.count) }
            }
        }
    }

    private func fireTimers() {
        // The common case: the armed selector still stands for the earliest timer, and it wakes
        // the loop when that comes due.
        if earliestTimer.load(ordering: .acquiring) == loopState.armedDeadline.uptimeNanoseconds { return }
        let now = Deadline.now()
        while let handler = timers.withLock({ queue -> (any TimerHandler)? in
            let due = queue.popDue(now: now)
            earliestTimer.store(queue.earliest.uptimeNanoseconds, ordering: .releasing)
            return due
        }) {
            handler.timerFired(now: now)
        }
        let next = timers.withLock { $0.earliest }
        guard next != loopState.armedDeadline else { return }
        loopState.armedDeadline = next
        selector.selector.arm(next)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        pthread_setspecific(Self.loopThreadMark, UnsafeRawPointer(bitPattern: 1))
        while true {
            // Jobs, tasks and timer handlers may queue more work from this thread, which doesn't
            // wake the loop: drain until nothing is queued before blocking.
            repeat {
                loopState.queuedOnLoop = false
                runTasks()
                fireTimers()
            } while loopState.queuedOnLoop
            if stopRequested.load(ordering: .acquiring) { break }
            let timerExpired = selector.wait(into: &loopState.events)
            // Deadlines that passed before this wake-up are honoured before the bytes it brought
            // are read: a reply read after its request's deadline is discarded, whatever order
            // the kernel listed the events in (the first cause wins, even after a stall).
            if timerExpired {
                loopState.armedDeadline = .distantFuture
                fireTimers()
            }
            for index in loopState.events.indices {
                dispatch(loopState.events[index])
            }
        }
    }

    // The selector's descriptors outlive the thread: a task queued after the loop stopped still
    // sends a wake-up, which must not reach a closed (or reused) descriptor. Nothing can once the
    // last reference is gone.
    deinit {
        selector.selector.close()
    }

    private func dispatch(_ event: SelectorEvent) {
        let registration = EventRegistration(id: event.id)
        guard let index = liveSlot(registration), let handler = loopState.slots[index].handler else { return }
        if event.readable {
            handler.readable()
        }
        // The read may have deregistered it.
        if event.writable, liveSlot(registration) != nil {
            handler.writable()
        }
    }

    private func runTasks() {
        // Clear the flag before draining, so a task submitted from here on wakes the loop again.
        _ = wakePending.exchange(false, ordering: .acquiringAndReleasing)
        runJobs()
        while runQueuedTasks() { runJobs() }
    }

    /// Runs the tasks queued so far; whether there were any.
    @discardableResult
    private func runQueuedTasks() -> Bool {
        tasks.withLock { swap(&$0, &loopState.taskBatch) }
        if loopState.taskBatch.isEmpty { return false }
        while let task = loopState.taskBatch.popFirst() { task() }
        return true
    }

}

extension EpollEventLoop: TaskExecutor {
    /// Runs a job of a Swift task that prefers this executor on the loop thread.
    ///
    /// A task that prefers this executor (`withTaskExecutorPreference(loop)`) is resumed on the
    /// loop thread straight after its reply is read, with no wake-up of another thread: for a
    /// caller that sends one request at a time, that halves the context switches per request.
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job), isolated: false)
    }

    /// The executor of actors that run on this loop (a client's supervisor): their jobs run on
    /// the loop thread, so the loop's callbacks reach them without a thread switch.
    public var actorExecutor: UnownedSerialExecutor { actors.asUnownedSerialExecutor() }

    func enqueue(_ job: UnownedJob, isolated: Bool) {
        jobs.withLock { $0.append((job, isolated)) }
        if inEventLoop { loopState.queuedOnLoop = true } else { wake() }
    }

    func runJobs() {
        let task = asUnownedTaskExecutor()
        let serial = actors.asUnownedSerialExecutor()
        while true {
            jobs.withLock { swap(&$0, &loopState.jobBatch) }
            if loopState.jobBatch.isEmpty { return }
            // The tasks queued before these jobs run first: taken after the jobs, they include
            // every task a thread queued before one of them. A connection on another loop hands
            // its event to this one as a task, then resumes callers here with later replies.
            runQueuedTasks()
            // A task's job runs with the loop as its task executor only: running it as isolated to
            // the actors' executor too would make each of its calls hop off and back on.
            var ran = 0
            while let (job, isolated) = loopState.jobBatch.popFirst() {
                if isolated { job.runSynchronously(on: serial) } else { job.runSynchronously(on: task) }
                ran += 1
                // Every so many jobs, the tasks they queued run (a connection's write of the
                // requests its resumed callers sent): the server starts on those while the rest
                // of the batch runs, rather than waiting for the whole batch.
                if ran % Self.jobsBetweenTasks == 0 { runQueuedTasks() }
            }
        }
    }

    /// How many jobs run before the tasks they queued get a turn.
    static var jobsBetweenTasks: Int { 32 }
}

/// An event loop as the serial executor of actors that run on it.
final class LoopActorExecutor: SerialExecutor {
    unowned let loop: EpollEventLoop

    init(loop: EpollEventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        loop.enqueue(UnownedJob(job), isolated: true)
    }

    /// Traps unless called on the loop thread: what `assumeIsolated` checks for an actor that runs
    /// on the loop, when called from one of the loop's callbacks.
    func checkIsolated() {
        precondition(loop.inEventLoop, "expected to run on the event loop thread \(loop.name)")
    }
}

/// Pending timers ordered by deadline: a binary min-heap.
struct TimerQueue {
    private var heap: [(deadline: Deadline, handler: any TimerHandler)] = []

    var earliest: Deadline { heap.first?.deadline ?? .distantFuture }

    /// The number of timers.
    var count: Int { heap.count }

    /// Removes the timers whose handler matches; rebuilds the heap (a rare path).
    mutating func remove(where matches: (any TimerHandler) -> Bool) {
        let kept = heap.filter { !matches($0.handler) }
        guard kept.count != heap.count else { return }
        heap = []
        for entry in kept { push(entry.deadline, entry.handler) }
    }

    mutating func push(_ deadline: Deadline, _ handler: any TimerHandler) {
        heap.append((deadline, handler))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popDue(now: Deadline) -> (any TimerHandler)? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.handler
    }
}

extension EpollEventLoop: CustomReflectable {
    /// Only the loop's name: a reflection (`dump` of a configuration that holds the loop) must not
    /// walk the loop thread's state, such as its connections' buffers, from another thread.
    public var customMirror: Mirror { Mirror(self, children: ["name": name], displayStyle: .class) }
}
