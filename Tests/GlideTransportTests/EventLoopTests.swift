import Dispatch
import Glibc
import Synchronization
import Testing

@testable import GlideTransport

/// Records timer firings.
final class TimerRecorder: EventHandler, @unchecked Sendable {
    let fired = Lock<[Deadline]>([])
    let onFire: @Sendable (Deadline) -> Void
    init(onFire: @escaping @Sendable (Deadline) -> Void = { _ in }) { self.onFire = onFire }
    func readable() {}
    func writable() {}
    func timerFired(now: Deadline) {
        fired.withLock { $0.append(now) }
        onFire(now)
    }
}

@Suite(.timeLimit(.minutes(2))) struct EpollEventLoopTests {
    @Test(arguments: [EventSelectorKind.epoll, .poll])
    func runsTasksInOrderOnTheLoopThread(selector: EventSelectorKind) async {
        let loop = EpollEventLoop(name: "test-loop", selector: selector)
        #expect(loop.selectorKind == selector)
        defer { loop.shutdown() }
        let order = Lock<[Int]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for index in 0..<1000 {
                loop.execute {
                    precondition(loop.inEventLoop)
                    order.withLock { $0.append(index) }
                    if index == 999 { done.resume() }
                }
            }
        }
        #expect(order.withLock { $0 } == Array(0..<1000))
        #expect(!loop.inEventLoop)
    }

    @Test(arguments: [EventSelectorKind.epoll, .poll])
    func firesTimersInDeadlineOrderAndNotEarly(selector: EventSelectorKind) async {
        let loop = EpollEventLoop(name: "test-timers", selector: selector)
        defer { loop.shutdown() }
        let start = Deadline.now()
        let fired = Lock<[Int]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // Scheduled out of order; the later-scheduled, earlier deadline must re-arm the timer.
            for (index, delay) in [(3, 60), (1, 20), (2, 40)] {
                let deadline = start + .milliseconds(delay)
                loop.scheduleTimer(
                    at: deadline,
                    handler: TimerRecorder { now in
                        precondition(now >= deadline, "timer fired early")
                        let count = fired.withLock {
                            $0.append(index)
                            return $0.count
                        }
                        if count == 3 { done.resume() }
                    })
            }
        }
        #expect(fired.withLock { $0 } == [1, 2, 3])
        #expect(Deadline.now() - start >= .milliseconds(60))
    }
}

/// Counts a registration's readiness events, on the loop thread.
final class ReadinessRecorder: EventHandler, @unchecked Sendable {
    let readableCount = Atomic<Int>(0)
    let writableCount = Atomic<Int>(0)
    let onEvent: @Sendable () -> Void
    init(onEvent: @escaping @Sendable () -> Void) { self.onEvent = onEvent }
    func readable() {
        readableCount.add(1, ordering: .relaxed)
        onEvent()
    }
    func writable() {
        writableCount.add(1, ordering: .relaxed)
        onEvent()
    }
    func timerFired(now: Deadline) {}
}

@Suite(.timeLimit(.minutes(2))) struct EventSelectorTests {
    /// Runs `body` on the loop's thread and returns what it returned.
    func onLoop<T: Sendable>(_ loop: EpollEventLoop, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in loop.execute { continuation.resume(returning: body()) } }
    }

    /// Readability, write interest on and off, and deregistration, through each selector, with a
    /// socket pair: the peer's bytes make the stream readable; write interest reports it writable
    /// until turned off; after deregistration nothing is reported.
    @Test(arguments: [EventSelectorKind.epoll, .poll])
    func reportsReadinessUntilDeregistered(selector: EventSelectorKind) async throws {
        let loop = EpollEventLoop(name: "test-select", selector: selector)
        defer { loop.shutdown() }
        let (stream, peer) = socketStreamPair()
        defer {
            stream.close()
            Glibc.close(peer)
        }
        let events = AsyncStream.makeStream(of: Void.self)
        let recorder = ReadinessRecorder { events.continuation.yield() }
        var iterator = events.stream.makeAsyncIterator()
        let registration = try await onLoop(loop) { Result { () throws(TransportError) in try loop.register(stream, handler: recorder) } }
            .get()
        #expect(Glibc.write(peer, "x", 1) == 1)
        // The handler doesn't read, so the stream is reported readable again and again until it is.
        while recorder.readableCount.load(ordering: .relaxed) == 0 { await iterator.next() }
        // Level-triggered: drained, the stream stops being reported until more bytes come.
        var buffer = Bytes()
        _ = try stream.read(into: &buffer, maximumLength: 16)
        await onLoop(loop) { loop.setWriteInterest(true, for: registration) }
        while recorder.writableCount.load(ordering: .relaxed) == 0 { await iterator.next() }
        await onLoop(loop) {
            loop.setWriteInterest(false, for: registration)
            loop.deregister(registration)
        }
        let before = (recorder.readableCount.load(ordering: .relaxed), recorder.writableCount.load(ordering: .relaxed))
        #expect(Glibc.write(peer, "y", 1) == 1)
        // A timer's turn after the write: had the stream still been watched, its event came first.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.scheduleTimer(at: .now() + .milliseconds(20), handler: TimerRecorder { _ in done.resume() })
        }
        #expect((recorder.readableCount.load(ordering: .relaxed), recorder.writableCount.load(ordering: .relaxed)) == before)
        #expect(await loop.registrationCount == 0)
    }

    @Test func theDefaultIsEpollUnlessTheEnvironmentSaysPoll() {
        let expected: EventSelectorKind = getenv("GLIDE_EVENT_SELECTOR").map { String(cString: $0) } == "poll" ? .poll : .epoll
        #expect(EventSelectorKind.default == expected)
        #expect(EpollEventLoop.shared.selectorKind == expected)
    }
}

@Suite(.timeLimit(.minutes(2))) struct EpollEventLoopWorkFromTheLoopTests {
    @Test func workQueuedByATimerHandlerRunsWithoutAnotherEvent() async {
        let loop = EpollEventLoop(name: "test-drain")
        defer { loop.shutdown() }
        // The handler runs on the loop and queues a task from there: no eventfd wake is sent, so
        // the loop must drain it before it blocks.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.scheduleTimer(
                at: .now() + .milliseconds(10),
                handler: TimerRecorder { _ in
                    loop.execute { loop.execute { done.resume() } }
                })
        }
    }

    @Test func taskPreferringTheLoopIsResumedFromATimerHandler() async {
        let loop = EpollEventLoop(name: "test-jobs")
        defer { loop.shutdown() }
        let value = await withTaskExecutorPreference(loop) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                loop.scheduleTimer(
                    at: .now() + .milliseconds(10),
                    handler: TimerRecorder { _ in
                        continuation.resume(returning: 42)
                    })
            }
        }
        #expect(value == 42)
    }

    @Test func aTaskQueuedBeforeAJobRunsBeforeIt() async {
        let loop = EpollEventLoop(name: "test-order")
        defer { loop.shutdown() }
        let log = Lock<[String]>([])
        let release = DispatchSemaphore(value: 0)
        // The loop is held, so the task and the job below wait in its queues together.
        loop.execute { release.wait() }
        loop.execute { log.withLock { $0.append("task") } }
        let job = Task(executorPreference: loop) { log.withLock { $0.append("job") } }
        release.signal()
        await job.value
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in loop.execute { done.resume() } }
        #expect(log.withLock { $0 } == ["task", "job"])
    }

    @Test func tasksQueuedByJobsRunEveryFewJobsNotOnlyAfterTheWholeBatch() async {
        let loop = EpollEventLoop(name: "test-interleave")
        defer { loop.shutdown() }
        let share = EpollEventLoop.jobsBetweenTasks
        let batch = SuspendedBatch(expected: 2 * share)
        await withTaskExecutorPreference(loop) {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<2 * share {
                    group.addTask {
                        await batch.suspend()
                        // One job of the batch the loop resumed; what it queues is a task, as a
                        // connection's deferred write is.
                        batch.log.withLock { $0.append("job") }
                        loop.execute { batch.log.withLock { $0.append("task") } }
                    }
                }
                await batch.allSuspended()
                // One turn resumes them all: one batch of jobs.
                loop.execute { batch.resumeAll() }
                await group.waitForAll()
            }
        }
        let half = [String](repeating: "job", count: share) + [String](repeating: "task", count: share)
        #expect(batch.log.withLock { $0 } == half + half)
    }
}

/// Tasks suspended until `resumeAll()`, and a log of what they did after.
final class SuspendedBatch: Sendable {
    let expected: Int
    let log = Lock<[String]>([])
    private let state = Lock<(waiting: [UnsafeContinuation<Void, Never>], whenAll: UnsafeContinuation<Void, Never>?)>(([], nil))

    init(expected: Int) { self.expected = expected }

    /// Suspends the caller until `resumeAll()`.
    func suspend() async {
        await withUnsafeContinuation { continuation in
            let whenAll = state.withLock { state -> UnsafeContinuation<Void, Never>? in
                state.waiting.append(continuation)
                guard state.waiting.count == expected else { return nil }
                defer { state.whenAll = nil }
                return state.whenAll
            }
            whenAll?.resume()
        }
    }

    /// Returns once `expected` tasks are suspended.
    func allSuspended() async {
        await withUnsafeContinuation { continuation in
            let ready = state.withLock { state in
                if state.waiting.count == expected { return true }
                state.whenAll = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Resumes every suspended task, in the order they suspended.
    func resumeAll() {
        for continuation in state.withLock({ $0.waiting }) { continuation.resume() }
    }
}

@Suite(.timeLimit(.minutes(2))) struct MemoryStreamTests {
    @Test func pipesBytesBothWaysAndReportsClose() throws {
        let (client, server) = MemoryByteStream.makePair()
        _ = try client.write(Bytes("PING"))
        var buffer = Bytes()
        #expect(try server.read(into: &buffer, maximumLength: 2) == .bytes(2))
        #expect(try server.read(into: &buffer, maximumLength: 100) == .bytes(2))
        #expect(buffer.string == "PING")
        #expect(try server.read(into: &buffer, maximumLength: 100) == .wouldBlock)
        try server.send("+PONG\r\n")
        #expect(client.isReadable)
        server.close()
        var reply = Bytes()
        #expect(try client.read(into: &reply, maximumLength: 100) == .bytes(7))
        #expect(try client.read(into: &reply, maximumLength: 100) == .endOfStream)
        let error = #expect(throws: TransportError.self) { _ = try client.write(Bytes("x")) }
        #expect(error?.kind == .connectionClosed)
    }
}

@Suite(.timeLimit(.minutes(2))) struct ManualEventLoopTests {
    final class Echo: EventHandler, @unchecked Sendable {
        let stream: MemoryByteStream
        var received = Bytes()
        var sawEnd = false
        var registration: EventRegistration?
        var loop: ManualEventLoop?
        init(stream: MemoryByteStream) { self.stream = stream }
        func readable() {
            while true {
                switch try! stream.read(into: &received, maximumLength: 4) {
                case .bytes: continue
                case .wouldBlock: return
                case .endOfStream:
                    sawEnd = true
                    loop?.deregister(registration!)
                    return
                }
            }
        }
        func writable() {}
        func timerFired(now: Deadline) {}
    }

    @Test func deliversReadinessAndTimersOnlyWhenDriven() throws {
        let loop = ManualEventLoop()
        let (mine, theirs) = MemoryByteStream.makePair()
        let echo = Echo(stream: mine)
        echo.loop = loop
        echo.registration = try loop.register(mine, handler: echo)
        try theirs.send("hello world")
        #expect(echo.received.isEmpty)  // nothing happens until the test runs the loop
        loop.run()
        #expect(echo.received.string == "hello world")

        let timer = TimerRecorder()
        loop.scheduleTimer(at: loop.now() + .seconds(5), handler: timer)
        loop.advance(by: .seconds(4))
        #expect(timer.fired.withLock { $0.isEmpty })
        loop.advance(by: .seconds(1))
        #expect(timer.fired.withLock { $0.count } == 1)

        theirs.close()
        loop.run()
        #expect(echo.sawEnd)
        #expect(loop.registrationCount == 0)
    }
}
