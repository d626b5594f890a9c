import GlideConnection
import GlideRouter
import GlideTLS
import GlideTransport

/// A connection URL taken apart: `valkey://`, `valkeys://` (TLS), `redis://`, `rediss://` (TLS)
/// or `unix://`, with optional `user:password@`, one or more `host[:port]` (comma-separated, for
/// cluster seeds), a database path, and query options.
///
/// ```
/// valkeys://app:secret@cache-1:6380,cache-2:6380/2?client_name=api&request_timeout=500
/// unix:///run/valkey.sock?db=1
/// ```
///
/// Pure: no I/O. A part that is wrong throws `.configuration` naming that part; the password is
/// never part of a message.
struct ConnectionURL: Equatable {
    var addresses: [NodeAddress] = []
    var useTLS = false
    var credentials: ServerCredentials?
    var database: Int?
    var clientName: String?
    var protocolVersion: ProtocolVersion?
    var requestTimeout: Duration?
    var connectionTimeout: Duration?
    var readFrom: ReadFrom?
    var clientAZ: String?
    var insecure = false

    /// The query options understood, for the error that names an unknown one.
    static let options = [
        "db", "client_name", "protocol", "request_timeout", "connection_timeout", "read_from", "client_az",
        "insecure",
    ]

    init(parsing url: String) throws(GlideError) {
        let pieces = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard pieces.count == 2 else {
            throw Self.invalid("scheme", "expected scheme://…, such as valkey://localhost:6379")
        }
        let scheme = pieces[0].lowercased()
        var rest = pieces[1]
        switch scheme {
        case "valkey", "redis": useTLS = false
        case "valkeys", "rediss": useTLS = true
        case "unix": useTLS = false
        default: throw Self.invalid("scheme", "\(scheme) is not one of valkey, valkeys, redis, rediss, unix")
        }
        if let question = rest.firstIndex(of: "?") {
            try parseQuery(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        // user:password@ — the last @ ends it, so a password may contain one (percent-encoded or not).
        if let at = rest.lastIndex(of: "@") {
            try parseUserInfo(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        if scheme == "unix" {
            guard rest.hasPrefix("/"), rest.count > 1 else { throw Self.invalid("path", "a unix:// URL needs an absolute socket path") }
            addresses = [NodeAddress.unixSocket(try Self.decode(rest, part: "path"))]
            return
        }
        var hosts = rest
        if let slash = rest.firstIndex(of: "/") {
            hosts = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let database = Int(path), database >= 0 else {
                    throw Self.invalid("database", "the path must be a database number, not \(path)")
                }
                self.database = database
            }
        }
        guard !hosts.isEmpty else { throw Self.invalid("host", "no host given") }
        for host in hosts.split(separator: ",", omittingEmptySubsequences: false) { addresses.append(try Self.address(host)) }
    }

    private mutating func parseUserInfo(_ info: Substring) throws(GlideError) {
        let parts = info.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let username = try Self.decode(parts[0], part: "user name")
        guard parts.count == 2 else {
            // valkey://secret@host: a lone part is the password, as redis-py and GLIDE read it.
            guard !username.isEmpty else { return }
            credentials = ServerCredentials(password: username)
            return
        }
        let password = try Self.decode(parts[1], part: "password")
        guard !password.isEmpty else { throw Self.invalid("password", "user \(username) has an empty password") }
        credentials = ServerCredentials(password: password, username: username.isEmpty ? nil : username)
    }

    private mutating func parseQuery(_ query: Substring) throws(GlideError) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count == 2 ? try Self.decode(parts[1], part: name) : ""
            func number() throws(GlideError) -> Int {
                guard let number = Int(value), number >= 0 else { throw Self.invalid(name, "expected a whole number, not \(value)") }
                return number
            }
            switch name {
            case "db": database = try number()
            case "client_name": clientName = value
            case "protocol":
                switch value.lowercased() {
                case "2", "resp2": protocolVersion = .resp2
                case "3", "resp3": protocolVersion = .resp3
                default: throw Self.invalid(name, "expected resp2 or resp3, not \(value)")
                }
            case "request_timeout": requestTimeout = .milliseconds(try number())
            case "connection_timeout": connectionTimeout = .milliseconds(try number())
            case "read_from":
                switch value {
                case "primary": readFrom = .primary
                case "preferReplica": readFrom = .preferReplica
                case "azAffinity": readFrom = .azAffinity
                case "azAffinityReplicasAndPrimary": readFrom = .azAffinityReplicasAndPrimary
                default:
                    throw Self.invalid(name, "expected primary, preferReplica, azAffinity or azAffinityReplicasAndPrimary, not \(value)")
                }
            case "client_az": clientAZ = value
            case "insecure":
                guard ["true", "false", "1", "0", ""].contains(value) else {
                    throw Self.invalid(name, "expected true or false, not \(value)")
                }
                insecure = value == "true" || value == "1" || value.isEmpty
            default:
                throw Self.invalid("option \(name)", "unknown; the options are \(Self.options.joined(separator: ", "))")
            }
        }
    }

    /// `host[:port]`, with an IPv6 host in brackets.
    private static func address(_ text: Substring) throws(GlideError) -> NodeAddress {
        var host = text
        var port = 6379
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("host", "an IPv6 address needs its closing bracket") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("port", "expected :port after \(text[...close])") }
                port = try self.port(after.dropFirst())
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = try self.port(text[text.index(after: colon)...])
        }
        guard !host.isEmpty else { throw invalid("host", "empty host in \(text)") }
        return NodeAddress(host: try decode(host, part: "host"), port: port)
    }

    private static func port(_ text: Substring) throws(GlideError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw invalid("port", "\(text) is not a port from 1 to 65535") }
        return port
    }

    /// Percent-decoding (`%40` is `@`).
    private static func decode(_ text: Substring, part: String) throws(GlideError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                    let high = hexValue(utf8[first]), let low = hexValue(utf8[utf8.index(after: first)])
                else {
                    // The text itself stays out of the message: it may be the password.
                    throw invalid(part, "a % must be followed by two hex digits")
                }
                bytes.append(high << 4 | low)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func invalid(_ part: String, _ why: String) -> GlideError {
        GlideError(.configuration, "connection URL, \(part): \(why)")
    }
}

extension ConnectionURL {
    /// The TLS settings the URL asks for: `insecure` only over TLS.
    func tlsConfiguration() throws(GlideError) -> TLSConfiguration? {
        guard insecure else { return nil }
        guard useTLS else { throw Self.invalid("option insecure", "it turns off certificate checks, so it needs valkeys:// or rediss://") }
        return .insecure
    }
}

/// The settings both configurations have that a URL's options set.
protocol URLSettable {
    var useTLS: Bool { get set }
    var tlsConfiguration: TLSConfiguration? { get set }
    var credentials: ServerCredentials? { get set }
    var databaseID: Int { get set }
    var clientName: String? { get set }
    var protocolVersion: ProtocolVersion { get set }
    var requestTimeout: Duration { get set }
    var connectionTimeout: Duration { get set }
    var readFrom: ReadFrom { get set }
    var clientAZ: String? { get set }
}

extension GlideClientConfiguration: URLSettable {}
extension GlideClusterClientConfiguration: URLSettable {}

extension ConnectionURL {
    /// Sets the URL's scheme, credentials, path and options; the rest keeps its value.
    func apply(to configuration: inout some URLSettable) throws(GlideError) {
        configuration.useTLS = useTLS
        configuration.tlsConfiguration = try tlsConfiguration()
        configuration.credentials = credentials
        if let database { configuration.databaseID = database }
        if let clientName { configuration.clientName = clientName }
        if let protocolVersion { configuration.protocolVersion = protocolVersion }
        if let requestTimeout { configuration.requestTimeout = requestTimeout }
        if let connectionTimeout { configuration.connectionTimeout = connectionTimeout }
        if let readFrom { configuration.readFrom = readFrom }
        if let clientAZ { configuration.clientAZ = clientAZ }
    }
}

extension GlideClientConfiguration {
    /// A configuration from a connection URL: `valkey://`, `valkeys://` (TLS), `redis://`,
    /// `rediss://` or `unix://`, with `user:password@`, `host:port` (6379 by default), a
    /// database path (`/2`) and query options: `db`, `client_name`, `protocol` (`resp2`,
    /// `resp3`), `request_timeout` and `connection_timeout` (milliseconds), `read_from`
    /// (`primary`, `preferReplica`, `azAffinity`, `azAffinityReplicasAndPrimary`), `client_az`,
    /// `insecure` (TLS without certificate checks). Other settings keep their defaults and can be
    /// changed afterwards.
    ///
    /// A URL that is wrong throws `.configuration` naming the part; the password never appears
    /// in a message or a description.
    ///
    /// ```swift
    /// let configuration = try GlideClientConfiguration(url: "valkeys://app:secret@cache.internal:6380/2")
    /// ```
    public init(url: String) throws(GlideError) {
        let parsed = try ConnectionURL(parsing: url)
        self.init(addresses: parsed.addresses)
        try parsed.apply(to: &self)
    }
}

extension GlideClusterClientConfiguration {
    /// A configuration from a connection URL, as `GlideClientConfiguration(url:)` reads it; the
    /// hosts (comma-separated) are the seeds. `unix://` is refused: cluster nodes are reached
    /// over TCP.
    ///
    /// ```swift
    /// let configuration = try GlideClusterClientConfiguration(url: "valkey://node-1:7000,node-2:7000?read_from=preferReplica")
    /// ```
    public init(url: String) throws(GlideError) {
        let parsed = try ConnectionURL(parsing: url)
        if parsed.addresses.contains(where: \.isUnixSocket) {
            throw GlideError(.configuration, "connection URL, scheme: cluster nodes are reached over TCP, not unix://")
        }
        self.init(addresses: parsed.addresses)
        try parsed.apply(to: &self)
    }
}
