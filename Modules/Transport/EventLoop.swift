/// Receives timer events from an event loop, always on the loop's thread: what schedules timers
/// and owns no stream (a supervisor, a pause) is one of these and nothing more.
public protocol TimerHandler: AnyObject, Sendable {
    /// A timer scheduled by this handler came due. Timers are not cancelled: check the time.
    func timerFired(now: Deadline)
}

/// Receives the readiness events of a registered stream, and timer events, from an event loop,
/// always on the loop's thread.
public protocol EventHandler: TimerHandler {
    /// The registered stream has bytes to read, reached end of stream, or failed.
    func readable()
    /// The registered stream can take more bytes; only sent while write interest is on.
    func writable()
}

/// The identity of one registration, valid until it is deregistered.
public struct EventRegistration: Hashable, Sendable {
    /// Opaque identity; an epoll loop packs a slot and a generation into it.
    public let id: UInt64

    /// Wraps an identity chosen by the loop.
    public init(id: UInt64) { self.id = id }
}

/// A thread that waits for I/O readiness and timers and dispatches them to handlers.
///
/// Two implementations: `EpollEventLoop` drives real sockets; `ManualEventLoop` is driven by tests.
/// Registration calls must be made on the loop's thread (`execute` gets there); `execute` and
/// `scheduleTimer` may be called from any thread.
///
/// A loop is also the task executor of the client's own tasks (connection attempts, topology
/// refreshes): they run on its thread, so a manual loop's test drives every one of them.
public protocol EventLoop: TaskExecutor {
    /// Runs `task` on the loop's thread, after tasks submitted before it.
    func execute(_ task: @escaping @Sendable () -> Void)

    /// Whether the caller is running on the loop's thread.
    var inEventLoop: Bool { get }

    /// Starts delivering `readable` (and, when asked, `writable`) for `stream` to `handler`.
    func register(_ stream: some ByteStream, handler: some EventHandler) throws(TransportError) -> EventRegistration

    /// Turns delivery of `writable` on or off.
    func setWriteInterest(_ enabled: Bool, for registration: EventRegistration)

    /// Stops delivering events for `registration`. Events already pending for it are dropped.
    func deregister(_ registration: EventRegistration)

    /// Calls `handler.timerFired(now:)` on the loop's thread at or soon after `deadline`.
    func scheduleTimer(at deadline: Deadline, handler: some TimerHandler)

    /// Drops every timer scheduled for `handler`, so that a handler that is done is not kept
    /// alive, or called, by timers it no longer needs. Any thread; a timer already firing on the
    /// loop thread may still run.
    func cancelTimers(for handler: some TimerHandler)

    /// The loop's current time.
    func now() -> Deadline

    /// The executor of actors that run on the loop: their jobs run on the loop's thread, and
    /// `assumeIsolated` holds in the loop's callbacks.
    var actorExecutor: UnownedSerialExecutor { get }
}
