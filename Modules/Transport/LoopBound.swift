/// State that only one event loop's thread may touch, and says so in its type: in debug builds
/// every access asserts that it runs on that loop's thread (SwiftNIO's `NIOLoopBound` is the
/// model); a release build checks nothing, so a hot path that owns such state pays nothing.
public struct LoopBound<Value, Loop: EventLoop> {
    @usableFromInline let loop: Loop
    @usableFromInline var storage: Value

    /// `value`, bound to `loop`'s thread. Making it may happen anywhere (an owner's `init`).
    @inlinable
    public init(_ value: Value, on loop: Loop) {
        self.loop = loop
        self.storage = value
    }

    /// The value: on the loop's thread only.
    @inlinable
    public var value: Value {
        _read {
            assert(loop.inEventLoop, "loop-bound state touched off its loop's thread")
            yield storage
        }
        _modify {
            assert(loop.inEventLoop, "loop-bound state touched off its loop's thread")
            yield &storage
        }
    }
}
