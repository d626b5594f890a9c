/// Where a server listens: a host name or IP address and a port, or a Unix domain socket.
public struct NodeAddress: Hashable, Sendable, CustomStringConvertible {
    /// A host name, an IPv4 address, or an IPv6 address (brackets optional); for a Unix socket,
    /// its path.
    public var host: String
    /// The TCP port; zero for a Unix socket.
    public var port: Int
    /// Whether `host` is the path of a Unix domain socket.
    public var isUnixSocket: Bool

    /// A TCP address. The defaults are the server's: `localhost:6379`.
    public init(host: String = "localhost", port: Int = 6379) {
        self.host = host
        self.port = port
        self.isUnixSocket = false
    }

    /// The Unix domain socket at `path`.
    public static func unixSocket(_ path: String) -> NodeAddress {
        var address = NodeAddress(host: path, port: 0)
        address.isUnixSocket = true
        return address
    }

    /// `host:port`, `[v6]:port` or `unix:path`.
    public var description: String {
        if isUnixSocket { return "unix:\(host)" }
        return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension NodeAddress {
    /// Parses `host:port` as servers write it in redirections and topology replies: the port
    /// after the last colon, so a bare IPv6 address (`::1:7000`) works, as do brackets
    /// (`[::1]:7000`). The host may be empty (`:7000`: the node that sent it). `nil` when there is
    /// no valid port.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.init(host: String(host), port: port)
    }
}
