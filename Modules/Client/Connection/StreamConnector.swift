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

/// Connects to a node address over TCP (IPv4, IPv6, host names) or a Unix domain socket.
struct SocketConnector: StreamConnector {
    let address: NodeAddress
    let loop: EpollEventLoop

    var addressDescription: String { address.description }

    func connect(deadline: Deadline) async throws(TransportError) -> SocketStream {
        let addresses: [SocketAddress]
        if address.isUnixSocket {
            addresses = [.unix(path: address.host)]
        } else {
            addresses = try await Resolver.resolve(host: address.host, port: address.port)
        }
        return try await SocketStream.connect(to: addresses, deadline: deadline, on: loop)
    }
}
