#if GLIDE_TSAN
import CGlideSystem
#endif

/// Hands-offs ThreadSanitizer can't see, made visible to it in the `make tsan` build (`-D
/// GLIDE_TSAN`), and nothing at all in every other build.
///
/// A continuation resumed on the loop thread hands the reply's bytes to the task it resumes. The
/// Swift runtime orders the two with its own atomics, but a runtime that is not instrumented shows
/// ThreadSanitizer no such order when the resume comes before the task has finished suspending
/// (a fast reply): it would report the reply's bytes as a race. `released(by:)` before resuming
/// and `acquired(from:)` after the wait returns state the order the runtime guarantees.
public enum ThreadSanitizer {
    /// Everything this thread did so far happens before an `acquired(from: object)` that follows.
    @inlinable @inline(__always)
    public static func released(by object: AnyObject) {
        #if GLIDE_TSAN
        annotate(object, release: true)
        #endif
    }

    /// What threads did before their `released(by: object)` happens before what this thread does next.
    @inlinable @inline(__always)
    public static func acquired(from object: AnyObject) {
        #if GLIDE_TSAN
        annotate(object, release: false)
        #endif
    }

    #if GLIDE_TSAN
    @usableFromInline
    static func annotate(_ object: AnyObject, release: Bool) {
        let address = Unmanaged.passUnretained(object).toOpaque()
        if release { __tsan_release(address) } else { __tsan_acquire(address) }
    }
    #endif
}
