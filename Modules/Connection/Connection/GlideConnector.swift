/// The connector seam of the ready clients: how `GlideClient` and `GlideClusterClient` open the
/// stream of each connection, when their configuration's `connector` is set.
///
/// Wrap the client's own connector to watch or shape the bytes (count them, record them, add
/// latency), or ignore it and bring a transport of your own. The client's event loop waits on
/// the stream's `selectableDescriptor`, so the stream must have one: a socket, or a socket pair
/// whose other end is a server you run.
///
/// ```swift
/// struct Counting: GlideConnector {
///     let bytes: Atomic<Int>
///     func connect(to address: NodeAddress, deadline: Deadline, standard: SocketConnector)
///         async throws(TransportError) -> any ByteStream {
///         CountingStream(try await standard.connect(deadline: deadline), bytes: bytes)
///     }
/// }
/// ```
public protocol GlideConnector: Sendable {
    /// Opens the stream of a connection to `address`, giving up at `deadline`. `standard` is
    /// the client's own connector to `address`: TCP or a Unix socket, with the client's TLS.
    func connect(to address: NodeAddress, deadline: Deadline, standard: SocketConnector) async throws(TransportError)
        -> any ByteStream
}
