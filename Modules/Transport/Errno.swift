public import Glibc

/// A POSIX error number with the names this library handles.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The number, as `errno` holds it.
    public let rawValue: Int32

    /// Wraps an error number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    @inlinable
    public static var current: Errno { Errno(rawValue: errno) }

    /// `EINTR`: the call was interrupted by a signal and is retried.
    public static let interrupted = Errno(rawValue: EINTR)
    /// `EAGAIN`/`EWOULDBLOCK`: a non-blocking call would have blocked.
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// `EINPROGRESS`: a non-blocking connect has started.
    public static let inProgress = Errno(rawValue: EINPROGRESS)
    /// `ECONNREFUSED`: nothing listens at the address.
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    /// `ECONNRESET`: the peer reset the connection.
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    /// `EPIPE`: the peer closed the connection before a write.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// `ETIMEDOUT`: the kernel gave up on the connection.
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// `EBADF`: not an open descriptor; a bug in the caller.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// `EFAULT`: a bad pointer; a bug in the caller.
    public static let badAddress = Errno(rawValue: EFAULT)
    /// `ENOENT`: no such file, e.g. a Unix socket path that does not exist.
    public static let noSuchFile = Errno(rawValue: ENOENT)

    /// The system's text for the error, with its symbolic number.
    public var description: String {
        // glibc's strerror returns static, immutable text for every known errno.
        let text = String(cString: strerror(rawValue))
        return "\(text) (errno \(rawValue))"
    }
}
