import Glibc
import Synchronization

/// Several epoll loops, each on a thread of its own, handed out in turn: a client takes one at
/// `create`, so clients spread over the machine's cores.
///
/// ```swift
/// let loops = EpollEventLoopGroup(loopCount: 4)
/// var configuration = GlideClientConfiguration()
/// configuration.eventLoopGroup = loops   // each client created from it takes the next loop
/// ```
public final class EpollEventLoopGroup: Sendable {
    /// The group every client uses unless its configuration names another: one loop per online
    /// CPU. Its loops start on first use and live as long as the process.
    public static let shared = EpollEventLoopGroup(loopCount: onlineProcessors, name: "glide-loop")

    /// The loops, in the order `next()` hands them out.
    public let loops: [EpollEventLoop]
    private let turn = Atomic<UInt>(0)

    /// The CPUs online now (at least 1).
    public static var onlineProcessors: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Starts `loopCount` loops (at least 1), whose threads are named `name-0`, `name-1`, …
    public init(loopCount: Int, name: String = "glide-loop") {
        precondition(loopCount >= 1, "an event loop group needs at least one loop")
        loops = (0..<loopCount).map { EpollEventLoop(name: "\(name)-\($0)") }
    }

    /// The next loop, in turn.
    public func next() -> EpollEventLoop {
        // Wrapping and unsigned: the count may pass any bound over a long life, and stays a valid index.
        let turn = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[Int(turn % UInt(loops.count))]
    }

    /// Asks every loop to finish (see `EpollEventLoop.shutdown()`). The shared group is never stopped.
    public func shutdown() {
        precondition(self !== EpollEventLoopGroup.shared, "the shared event loop group lives as long as the process")
        for loop in loops { loop.shutdown() }
    }
}
