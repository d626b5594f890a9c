import Glibc
import GlideTLS
import GlideTransport

/// Opens the byte stream of one connection: TCP or Unix sockets in production, a memory pipe to
/// a scripted server in tests.
protocol StreamConnector: Sendable {
    associatedtype Stream: ByteStream
    /// `host:port` of the node, for errors.
    var addressDescription: String { get }
    /// Opens a stream, giving up at `deadline`.
    func connect(deadline: Deadline) async throws(TransportError) -> Stream
}

/// A connector to one node of a cluster, which the cluster client finds its connections by.
protocol NodeConnector: StreamConnector {
    /// The node this connector reaches.
    var address: NodeAddress { get }
}

/// Connects to a node address over TCP (IPv4, IPv6, host names) or a Unix domain socket, and
/// runs the TLS handshake over it when the client uses TLS, within the same deadline.
struct SocketConnector: NodeConnector {
    let address: NodeAddress
    let loop: EpollEventLoop
    /// The client's TLS context, or `nil` for plain text.
    var tls: TLSContext?

    var addressDescription: String { address.description }

    func connect(deadline: Deadline) async throws(TransportError) -> NodeStream {
        let addresses: [SocketAddress]
        if address.isUnixSocket {
            addresses = [.unix(path: address.host)]
        } else {
            addresses = try await Resolver.resolve(host: address.host, port: address.port)
        }
        let socket = try await SocketStream.connect(to: addresses, deadline: deadline, on: loop)
        guard let tls else { return NodeStream(socket: socket, tls: nil) }
        let session = try await TLSStream.connect(over: socket, context: tls, host: address.host, deadline: deadline, on: loop)
        return NodeStream(socket: socket, tls: session)
    }
}

/// A node's stream: a socket, or TLS over it. One concrete type for both, so the connection's
/// code is specialised once; the branch costs less than an existential call would.
final class NodeStream: ByteStream, @unchecked Sendable {
    let socket: SocketStream
    let tls: TLSStream<SocketStream>?

    init(socket: SocketStream, tls: TLSStream<SocketStream>?) {
        self.socket = socket
        self.tls = tls
    }

    var selectableDescriptor: Int32? { socket.descriptor }

    /// TLS sessions are written from the loop thread only.
    var allowsConcurrentWrites: Bool { tls == nil }

    func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        if let tls { return try tls.read(into: &buffer, maximumLength: maximumLength) }
        return try socket.read(into: &buffer, maximumLength: maximumLength)
    }

    func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        if let tls { return try tls.write(vectors: vectors) }
        return try socket.write(vectors: vectors)
    }

    func close() {
        if let tls { tls.close() } else { socket.close() }
    }
}
