import Foundation

/// Loopback ports for test servers.
public enum FreePort {
    /// A port nothing listens on now: the kernel picks one for a socket bound to port 0.
    public static func find() throws -> Int {
        try bindable(0)
    }

    /// A port for a Redis 6 cluster node, whose bus can't be chosen and listens 10,000 above it:
    /// at most 55535, with that bus port free too.
    public static func findWithBusAbove() throws -> Int {
        for _ in 0..<64 {
            let port = try find()
            if port <= 55535, (try? bindable(port + 10_000)) != nil { return port }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// Binds a socket to loopback `port` (0: any) and closes it; returns the port it got.
    private static func bindable(_ port: Int) throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A loopback port that refuses connections for as long as the returned value lives: a
    /// socket bound to it that never listens. Unlike a port `find()` reports free, no server
    /// another test starts meanwhile can take it (binding it fails with `EADDRINUSE`).
    public static func refusing() throws -> RefusingPort {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return RefusingPort(descriptor: descriptor, port: Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Whether something accepts TCP connections on `127.0.0.1:port`.
    public static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Whether the process `pid` serves RESP on `host:port` (an IPv4 address): it answers `INFO
    /// server` with its own `process_id`, or with an error (a server that wants a password first).
    ///
    /// A bare connect is not enough: a port found free can meanwhile become another node's
    /// cluster bus, which accepts connections but speaks no RESP.
    static func servesRESP(host: String = "127.0.0.1", port: Int, pid: Int32) -> Bool {
        let descriptor = connectLoopback(port: port, host: host)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return false }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let marker = "process_id:\(pid)\r\n"
        for _ in 0..<10 {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            guard count > 0 else { return false }
            reply += chunk[0..<count]
            if reply.first == UInt8(ascii: "-") { return true }
            if String(decoding: reply, as: UTF8.self).contains(marker) { return true }
        }
        return false
    }

    /// A socket listening on a free loopback port, and that port.
    static func listen(backlog: Int32) -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        Foundation.listen(descriptor, backlog)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A socket connected to `127.0.0.1:port` (or another IPv4 `host`), or -1.
    static func connectLoopback(port: Int, host: String = "127.0.0.1") -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var target = loopback(port: port)
        target.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 && descriptor >= 0 {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// A listening socket whose accept queue is full, so further connection attempts hang: the
/// deterministic way to make a connect time out on loopback.
public final class UnresponsiveListener: @unchecked Sendable {
    /// The port that never completes a connection.
    public let port: Int
    private let listener: Int32
    private let filler: Int32

    /// Listens with a backlog of zero and fills it with one connection that is never accepted.
    public init() {
        (listener, port) = FreePort.listen(backlog: 0)
        filler = FreePort.connectLoopback(port: port)
    }

    deinit {
        close(filler)
        close(listener)
    }
}

/// A listening socket that completes TCP connections (the kernel does, from its backlog) but
/// never reads or writes: a peer that goes silent after connecting, as in a stalled TLS handshake.
public final class SilentListener: @unchecked Sendable {
    /// The port it listens on.
    public let port: Int
    private let listener: Int32

    /// Listens on a free loopback port.
    public init() {
        (listener, port) = FreePort.listen(backlog: 16)
    }

    /// Stops listening.
    public func close() {
        Foundation.close(listener)
    }
}

/// A loopback port held by a bound, never-listening socket: connecting to it is refused. The
/// socket closes when this is freed.
public final class RefusingPort: Sendable {
    /// The port.
    public let port: Int
    private let descriptor: Int32

    init(descriptor: Int32, port: Int) {
        self.descriptor = descriptor
        self.port = port
    }

    deinit { close(descriptor) }
}
