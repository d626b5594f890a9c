import Glibc

/// The socket calls whose spelling differs between systems, in one place: a port changes these
/// and the selector (`Docs/platforms.md`).
enum Platform {
    /// The flags of `send` and `sendmsg` that turn a write to a closed peer into `EPIPE` instead
    /// of a `SIGPIPE` that kills the process. Darwin has no such flag: it sets `SO_NOSIGPIPE` on
    /// the socket when it is made, and sends with no flag.
    static let sendFlags = Int32(MSG_NOSIGNAL)

    /// A new stream socket of `family`, non-blocking and closed on exec, in one call with Linux's
    /// type flags. Darwin has neither flag: `socket`, then `fcntl` for both, then `SO_NOSIGPIPE`.
    static func streamSocket(family: Int32) throws(TransportError) -> Int32 {
        try blockingSyscall("socket") {
            socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
    }
}
