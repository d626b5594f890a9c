import Glibc
import GlideConnection
import GlideTransport

/// Runs async client work for a caller that can't await, and blocks the caller's thread until it
/// ends. The work runs on the client's event loop as a task executor, so it needs no thread of
/// Swift's concurrency pool: callers blocking every pool thread can't starve it.
enum BlockingBridge {
    /// The result of `body`, waited for on the calling thread.
    ///
    /// Refused with `.configuration` on an event loop's thread (it would stall the loop that must
    /// run the work: a deadlock) and inside a Swift task (it would hold a thread of the shared
    /// pool; such code should await the async client instead).
    static func wait<Value: Sendable>(on loop: EpollEventLoop, _ body: @escaping @Sendable () async throws(GlideError) -> Value)
        throws(GlideError) -> Value
    {
        if let refusal { throw refusal }
        return try block(on: loop, body).get()
    }

    /// `wait(on:_:)` for work that may throw any error.
    static func waitThrowingAny<Value: Sendable>(on loop: EpollEventLoop, _ body: @escaping @Sendable () async throws -> Value) throws
        -> Value
    {
        if let refusal { throw refusal }
        return try block(on: loop, body).get()
    }

    /// Why the calling thread must not block, if it must not.
    static var refusal: GlideError? {
        if EpollEventLoop.currentThreadRunsALoop {
            return GlideError(
                .configuration,
                "a blocking client was called on an event loop thread, which it would stall until "
                    + "the loop itself answered (a deadlock): use the async client there")
        }
        if withUnsafeCurrentTask(body: { $0 != nil }) {
            return GlideError(
                .configuration,
                "a blocking client was called from a Swift task, where it would hold a thread of the "
                    + "concurrency pool while it waits: await the async client (`client`) instead")
        }
        return nil
    }

    private static func block<Value: Sendable, Failure: Error>(
        on loop: EpollEventLoop, _ body: @escaping @Sendable () async throws(Failure) -> Value
    )
        -> Result<Value, Failure>
    {
        let handoff = Handoff<Result<Value, Failure>>()
        // Owned by this call, which returns only once the task has handed over its result.
        Task(executorPreference: loop) {
            do throws(Failure) {
                handoff.put(.success(try await body()))
            } catch {
                handoff.put(.failure(error))
            }
        }
        return handoff.take()
    }
}

/// One value handed from a task to a thread that waits for it: a pthread mutex and condition.
///
/// `@unchecked Sendable`: `value` is read and written only with `mutex` held; the pointers are
/// set once, in `init`.
final class Handoff<Value: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var value: Value?

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Hands `value` over and wakes the waiting thread.
    func put(_ value: Value) {
        pthread_mutex_lock(mutex)
        self.value = value
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until a value was handed over, and returns it.
    func take() -> Value {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while value == nil { pthread_cond_wait(condition, mutex) }
        return value!
    }
}
