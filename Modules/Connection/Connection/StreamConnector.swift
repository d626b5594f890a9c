public import Glibc
public import GlideTLS

/// Opens the byte stream of one connection: TCP or Unix sockets in production, a memory pipe to
/// a scripted server in tests.
public protocol StreamConnector: Sendable {
    associatedtype Stream: ByteStream
    /// `host:port` of the node, for errors.
    var addressDescription: String { get }
    /// Opens a stream, giving up at `deadline`.
    func connect(deadline: Deadline) async throws(TransportError) -> Stream
}

/// A connector to one node of a cluster, which the cluster client finds its connections by.
public protocol NodeConnector: StreamConnector {
    /// The node this connector reaches.
    var address: NodeAddress { get }
}

/// Connects to a node address over TCP (IPv4, IPv6, host names) or a Unix domain socket, and
/// runs the TLS handshake over it when the client uses TLS, within the same deadline. With
/// `custom` set, that connector opens the stream instead, given this one to wrap.
public struct SocketConnector: NodeConnector {
    /// The node this connector reaches.
    public let address: NodeAddress
    /// The loop the socket is driven by.
    public let loop: EpollEventLoop
    /// Where the client's TLS context comes from (each connection takes the current one, so
    /// rotated certificates reach new connections), or `nil` for plain text.
    public var tls: TLSContextProvider?
    /// The user's connector (a client configuration's `connector`), or `nil`.
    public var custom: (any GlideConnector)?

    /// A connector to `address` over `loop`, with TLS when `tls` is set, through `custom` when set.
    public init(address: NodeAddress, loop: EpollEventLoop, tls: TLSContextProvider? = nil, custom: (any GlideConnector)? = nil) {
        self.address = address
        self.loop = loop
        self.tls = tls
        self.custom = custom
    }

    /// `host:port` of the node.
    public var addressDescription: String { address.description }

    /// Opens a socket to the node, and TLS over it when the client uses TLS, giving up at
    /// `deadline`; or has `custom` open the stream.
    public func connect(deadline: Deadline) async throws(TransportError) -> NodeStream {
        if let custom {
            var standard = self
            standard.custom = nil
            let stream = try await custom.connect(to: address, deadline: deadline, standard: standard)
            guard stream.selectableDescriptor != nil else {
                stream.close()
                throw TransportError(.unsupported, detail: "the connector's stream has no descriptor the event loop can wait on")
            }
            return NodeStream(custom: stream)
        }
        let addresses: [SocketAddress]
        if address.isUnixSocket {
            addresses = [.unix(path: address.host)]
        } else {
            addresses = try await Resolver.resolve(host: address.host, port: address.port)
        }
        let socket = try await SocketStream.connect(to: addresses, deadline: deadline, on: loop)
        guard let tls else { return NodeStream(socket: socket, tls: nil) }
        let session = try await TLSStream.connect(
            over: socket, context: tls.current(), host: address.host, deadline: deadline, on: loop)
        return NodeStream(socket: socket, tls: session)
    }
}

/// A node's stream: a socket, TLS over it, or a user connector's stream. One concrete type for
/// all three, so the connection's code is specialised once; the branch costs less than an
/// existential call would on the sockets' path.
public final class NodeStream: ByteStream {
    private let socket: SocketStream?
    private let tls: TLSStream<SocketStream>?
    private let custom: (any ByteStream)?

    package init(socket: SocketStream, tls: TLSStream<SocketStream>?) {
        self.socket = socket
        self.tls = tls
        self.custom = nil
    }

    package init(custom: any ByteStream) {
        self.socket = nil
        self.tls = nil
        self.custom = custom
    }

    /// The socket's descriptor, which the loop waits on.
    public var selectableDescriptor: Int32? { socket?.descriptor ?? custom?.selectableDescriptor }

    /// TLS sessions are written from the loop thread only.
    public var allowsConcurrentWrites: Bool { tls == nil && (custom?.allowsConcurrentWrites ?? true) }

    /// Reads through TLS, from the socket, or from the custom stream.
    public func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        if let tls { return try tls.read(into: &buffer, maximumLength: maximumLength) }
        if let socket { return try socket.read(into: &buffer, maximumLength: maximumLength) }
        return try custom.unsafelyUnwrapped.read(into: &buffer, maximumLength: maximumLength)
    }

    /// Writes through TLS, to the socket, or to the custom stream.
    public func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        if let tls { return try tls.write(vectors: vectors) }
        if let socket { return try socket.write(vectors: vectors) }
        return try custom.unsafelyUnwrapped.write(vectors: vectors)
    }

    /// Closes the session and its socket.
    public func close() {
        if let tls {
            tls.close()
        } else if let socket {
            socket.close()
        } else {
            custom.unsafelyUnwrapped.close()
        }
    }
}
