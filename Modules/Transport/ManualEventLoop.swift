import Glibc
import Synchronization

/// An event loop that does nothing until a test tells it to: the test is the loop's thread.
///
/// Time stands still until `advance(by:)`. `run()` runs queued tasks and delivers readiness of the
/// registered `MemoryByteStream`s until nothing is left to do.
public final class ManualEventLoop: EventLoop, @unchecked Sendable {
    struct Registered {
        let stream: MemoryByteStream
        let handler: any EventHandler
        var writeInterest = false
    }

    struct State {
        var tasks: [@Sendable () -> Void] = []
        var timers = TimerQueue()
        var registrations: [UInt64: Registered] = [:]
        var nextID: UInt64 = 1
        var now: Deadline
    }

    private let state: Lock<State>
    /// The executor of the actors that run on this loop.
    private(set) var actors: ManualActorExecutor!
    /// The thread inside `run()` or `advance(by:)`: the loop's thread while it is driven.
    private let driver = Atomic<UInt>(0)

    /// A loop whose clock starts at `now`.
    public init(now: Deadline = Deadline(uptimeNanoseconds: 1_000_000_000)) {
        state = Lock(State(now: now))
        actors = ManualActorExecutor(loop: self)
    }

    /// True on the thread driving the loop, inside `run()` or `advance(by:)`.
    public var inEventLoop: Bool { driver.load(ordering: .acquiring) == UInt(pthread_self()) }

    private func driving<Result>(_ body: () -> Result) -> Result {
        let previous = driver.exchange(UInt(pthread_self()), ordering: .acquiringAndReleasing)
        defer { driver.store(previous, ordering: .releasing) }
        return body()
    }

    /// Queues `task` for the next `run()`.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        state.withLock { $0.tasks.append(task) }
    }

    /// Registers a `MemoryByteStream`; other streams are unsupported.
    public func register(_ stream: some ByteStream, handler: some EventHandler) throws(TransportError) -> EventRegistration {
        guard let memory = stream as? MemoryByteStream else {
            throw TransportError(.unsupported, detail: "a manual event loop drives memory streams only")
        }
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.registrations[id] = Registered(stream: memory, handler: handler)
            return EventRegistration(id: id)
        }
    }

    /// Turns delivery of `writable` on or off.
    public func setWriteInterest(_ enabled: Bool, for registration: EventRegistration) {
        state.withLock { $0.registrations[registration.id]?.writeInterest = enabled }
    }

    /// Stops delivering events for `registration`.
    public func deregister(_ registration: EventRegistration) {
        _ = state.withLock { $0.registrations.removeValue(forKey: registration.id) }
    }

    /// Schedules `handler.timerFired` for when the clock reaches `deadline`.
    public func scheduleTimer(at deadline: Deadline, handler: some TimerHandler) {
        state.withLock { $0.timers.push(deadline, handler) }
    }

    /// Drops the timers scheduled for `handler`.
    public func cancelTimers(for handler: some TimerHandler) {
        state.withLock { $0.timers.remove { $0 === handler } }
    }

    /// The number of timers scheduled and not yet fired.
    public var pendingTimerCount: Int { state.withLock { $0.timers.count } }

    /// The manual clock.
    public func now() -> Deadline { state.withLock { $0.now } }

    /// Whether tasks are waiting.
    public var hasPendingTasks: Bool { state.withLock { !$0.tasks.isEmpty } }

    /// The number of live registrations.
    public var registrationCount: Int { state.withLock { $0.registrations.count } }

    /// When the earliest timer is due, if any is scheduled.
    public var nextTimerDeadline: Deadline? {
        state.withLock { $0.timers.count == 0 ? nil : $0.timers.earliest }
    }

    /// Moves the clock forward, fires the timers that came due, and runs until idle.
    public func advance(by duration: Duration) {
        advance(to: now() + duration)
    }

    /// Moves the clock to `deadline` (never back), fires the timers that came due, and runs
    /// until idle.
    public func advance(to deadline: Deadline) {
        let now = state.withLock { state in
            state.now = max(state.now, deadline)
            return state.now
        }
        driving {
            while let handler = state.withLock({ $0.timers.popDue(now: now) }) {
                handler.timerFired(now: now)
            }
        }
        run()
    }

    /// Runs tasks and delivers readiness until there is nothing left to do.
    public func run() {
        driving { runUntilIdle() }
    }

    private func runUntilIdle() {
        for _ in 0..<100_000 {
            var progressed = false
            let tasks = state.withLock { state in
                let tasks = state.tasks
                state.tasks.removeAll()
                return tasks
            }
            for task in tasks { task() }
            progressed = !tasks.isEmpty
            let registered = state.withLock { Array($0.registrations.values) }
            for entry in registered {
                if entry.stream.isReadable {
                    entry.handler.readable()
                    // A handler that leaves bytes unread after end-of-stream would spin forever.
                    if entry.stream.isReadable && !entry.stream.peerClosed { progressed = true }
                }
                if entry.writeInterest {
                    entry.handler.writable()
                }
            }
            if !progressed && !hasPendingTasks { return }
        }
        preconditionFailure("ManualEventLoop.run() made progress 100,000 times: a handler never drains its stream")
    }
}

extension ManualEventLoop: TaskExecutor {
    /// Actors that run on this loop run inside `run()`.
    public var actorExecutor: UnownedSerialExecutor { actors.asUnownedSerialExecutor() }

    /// Queues a job of a task that prefers this loop for the next `run()`.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        execute { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}

/// A manual loop as the serial executor of actors that run on it.
final class ManualActorExecutor: SerialExecutor {
    unowned let loop: ManualEventLoop

    init(loop: ManualEventLoop) {
        self.loop = loop
    }

    /// Queues a job of an actor that runs on the loop for the next `run()`.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let serial = asUnownedSerialExecutor()
        loop.execute { job.runSynchronously(on: serial) }
    }

    /// Traps unless called from inside `run()` or `advance(by:)`.
    func checkIsolated() {
        precondition(loop.inEventLoop, "expected to run inside ManualEventLoop.run()")
    }
}
