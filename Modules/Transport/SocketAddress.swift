import Glibc
import Synchronization

/// An IPv4, IPv6 or Unix domain socket address.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address and port.
    case ipv4(host: String, port: Int, storage: IPv4Storage)
    /// An IPv6 address and port.
    case ipv6(host: String, port: Int, storage: IPv6Storage)
    /// A filesystem path naming a Unix domain socket.
    case unix(path: String)

    /// The raw `sockaddr_in` bytes of an IPv4 address.
    public struct IPv4Storage: Sendable, Hashable {
        let address: UInt32
        let port: UInt16
    }

    /// The raw `sockaddr_in6` fields of an IPv6 address.
    public struct IPv6Storage: Sendable, Hashable {
        let address: [UInt8]
        let port: UInt16
        let scope: UInt32
    }

    /// Parses a numeric IPv4 or IPv6 address; `nil` when `host` is a name that needs resolving.
    public init?(numericHost host: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            self = .ipv4(host: host, port: port, storage: IPv4Storage(address: v4.s_addr, port: UInt16(port).bigEndian))
            return
        }
        var v6 = in6_addr()
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            self = .ipv6(host: bare, port: port, storage: IPv6Storage(address: bytes, port: UInt16(port).bigEndian, scope: 0))
            return
        }
        return nil
    }

    /// Wraps an address that `getaddrinfo` returned.
    init?(_ address: UnsafePointer<sockaddr>, port: Int) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(address).load(as: sockaddr_in.self)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var raw = v4.sin_addr
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            self = .ipv4(
                host: Self.string(fromCString: text), port: port,
                storage: IPv4Storage(address: v4.sin_addr.s_addr, port: UInt16(port).bigEndian))
        case AF_INET6:
            let v6 = UnsafeRawPointer(address).load(as: sockaddr_in6.self)
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var raw = v6.sin6_addr
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self = .ipv6(
                host: Self.string(fromCString: text), port: port,
                storage: IPv6Storage(address: bytes, port: UInt16(port).bigEndian, scope: v6.sin6_scope_id))
        default:
            return nil
        }
    }

    static func string(fromCString text: [CChar]) -> String {
        String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address family for `socket(2)`.
    var family: Int32 {
        switch self {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        case .unix: AF_UNIX
        }
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        switch self {
        case .ipv4(_, _, let storage):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = storage.port
            address.sin_addr.s_addr = storage.address
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(_, _, let storage):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = storage.port
            address.sin6_scope_id = storage.scope
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: storage.address) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8.prefix(capacity - 1))
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    /// `host:port`, `[v6]:port`, or `unix:path`.
    public var description: String {
        switch self {
        case .ipv4(let host, let port, _): "\(host):\(port)"
        case .ipv6(let host, let port, _): "[\(host)]:\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// Host-name resolution through `getaddrinfo`, on a thread of its own because it blocks.
public enum Resolver {
    /// The addresses of `host`, in the order the system prefers. Numeric hosts need no lookup.
    public static func resolve(host: String, port: Int) async throws(TransportError) -> [SocketAddress] {
        guard (0...65535).contains(port) else {
            throw TransportError(.invalidAddress, detail: "port \(port) is out of range")
        }
        if let numeric = SocketAddress(numericHost: host, port: port) { return [numeric] }
        guard !host.isEmpty else { throw TransportError(.invalidAddress, detail: "empty host name") }
        // The lookup can't be interrupted: a cancelled task stops waiting for it, and the thread
        // ends on its own. Whichever comes first resumes the continuation; the other finds it gone.
        let once = ResumeOnce<Result<[SocketAddress], TransportError>>()
        let result: Result<[SocketAddress], TransportError> = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                once.install(continuation)
                startThread(named: "glide-resolve") {
                    once.resume(lookUp(host: host, port: port))
                }
            }
        } onCancel: {
            once.resume(.failure(TransportError(.cancelled, detail: "resolving \(host) was cancelled")))
        }
        return try result.get()
    }

    static func lookUp(host: String, port: Int) -> Result<[SocketAddress], TransportError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(TransportError(.resolutionFailed, detail: "\(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let raw = entry.pointee.ai_addr, let address = SocketAddress(raw, port: port), !addresses.contains(address) {
                addresses.append(address)
            }
            cursor = entry.pointee.ai_next
        }
        if addresses.isEmpty {
            return .failure(TransportError(.resolutionFailed, detail: "\(host): no IPv4 or IPv6 address"))
        }
        return .success(addresses)
    }
}

/// A continuation resumed by the first of several racing callers; the value of one that comes
/// before the continuation is installed is kept and delivered on installation.
final class ResumeOnce<Value: Sendable>: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Value, Never>?
        var early: Value?
        var done = false
    }

    private let state = Lock(State())

    /// Sets the continuation to resume; resumes it now if a value came first.
    func install(_ continuation: UnsafeContinuation<Value, Never>) {
        let early: Value? = state.withLock { state in
            if let value = state.early {
                state.early = nil
                return value
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Resumes with `value` unless a value was already given.
    func resume(_ value: Value) {
        let continuation: UnsafeContinuation<Value, Never>? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = value
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: value)
    }
}
