public import Synchronization

#if GLIDE_TSAN
import Glibc
#endif

#if !GLIDE_TSAN
/// A lock around a value, for the state threads share: `Synchronization.Mutex`.
///
/// ThreadSanitizer can't see the synchronization of `Mutex` in a debug build (its futex and
/// atomics run, uninlined, in the uninstrumented standard library), so it would report every
/// access under it as a race. Built with `-D GLIDE_TSAN` (`make tsan`), `Lock` is a pthread mutex
/// instead, which ThreadSanitizer understands; every other build uses `Mutex` unchanged.
public typealias Lock<Value> = Mutex<Value>
#else
/// `Synchronization.Mutex`'s interface over a pthread mutex, which ThreadSanitizer understands:
/// the `make tsan` build only (see the other definition).
///
/// `@unchecked Sendable`, as `Mutex` is: `value` is touched only inside `withLock`, between
/// `pthread_mutex_lock` and `pthread_mutex_unlock`; the mutex itself is immutable.
public final class Lock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock around `value`.
    public init(_ value: consuming sending Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, under the lock.
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#endif
