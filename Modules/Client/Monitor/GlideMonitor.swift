import GlideConnection
import GlideTransport

/// The commands one node runs, as `MONITOR` shows them, one `MonitorLine` each: what
/// `GlideClient.monitor(node:)` and `GlideClusterClient.monitor(node:)` return.
///
/// It runs on a connection of its own, opened for it and closed when the stream ends: when the
/// task iterating it is cancelled, the stream is dropped, or the client is closed (which ends it
/// with `.clientClosed`). A lost connection ends it with the error (it doesn't reconnect: lines
/// would be missed unseen). A consumer that falls
/// `bufferSize` lines behind loses the oldest of them.
///
/// ```swift
/// let task = Task {
///     for try await line in try await client.monitor() { print(line.command, line.client) }
/// }
/// // …
/// task.cancel()  // ends the stream and closes its connection
/// ```
///
/// `MONITOR` costs the server: every command it runs is formatted and sent to each monitor. It is
/// for debugging, not for production traffic.
public struct GlideMonitor: AsyncSequence, Sendable {
    /// Lines kept for a consumer that is behind.
    public static let bufferSize = 65_536

    /// One line.
    public typealias Element = MonitorLine

    let stream: AsyncThrowingStream<MonitorLine, any Error>

    /// Iterates the lines.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<MonitorLine, any Error>.AsyncIterator

        /// The next line; `nil` once the stream ended (cancelled, or closed); throws the error
        /// that ended its connection.
        public mutating func next() async throws -> MonitorLine? { try await next(isolation: nil) }

        /// `next()`, run where its caller is.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> MonitorLine? {
            try await base.next(isolation: actor)
        }
    }

    /// An iterator over the lines.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }
}

/// What ends a monitor's stream when its connection is lost: the connection's observer, which it
/// holds weakly; the stream holds it.
final class MonitorSession: ConnectionObserver {
    let continuation: AsyncThrowingStream<MonitorLine, any Error>.Continuation
    let address: String

    init(_ continuation: AsyncThrowingStream<MonitorLine, any Error>.Continuation, address: String) {
        self.continuation = continuation
        self.address = address
    }

    func connectionChanged(_ id: ObjectIdentifier, _ event: ConnectionEvent) {
        switch event {
        case .ready: break
        case .lost(let summary), .attemptFailed(let summary): continuation.finish(throwing: summary.error(at: address))
        }
    }

    func unblockRequested(_ id: ObjectIdentifier, clientID: Int, requestID: UInt64, generation: Int) {}
}

extension ClientCore {
    /// Opens a connection to `address`, sends `MONITOR` on it, and streams the lines that follow.
    /// Fails as a connection does (`.connectionFailed`, `.authenticationFailed`, …), or with the
    /// server's refusal (`.server`: an ACL user without `MONITOR`).
    func monitor(_ address: NodeAddress) async throws(GlideError) -> GlideMonitor {
        guard !closed else { throw GlideError(.clientClosed, "the client is closed") }
        let (stream, continuation) = AsyncThrowingStream<MonitorLine, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(GlideMonitor.bufferSize))
        let session = MonitorSession(continuation, address: address.description)
        let connection = Connection(
            loop: loop, connector: makeConnector(address, loop), handshake: handshake(readOnly: false, tracks: false),
            inflightLimit: 4, maximumReplyLength: options.maximumReplyLength, connectionTimeout: options.connectionTimeout,
            staleReplyGrace: options.staleReplyGrace, policy: .monitor, observer: session, observerLoop: loop,
            credentialsSource: credentialsSource
        ) { token, _ in
            // The answer to MONITOR itself is its request's; what comes after is a line each.
            guard let bytes = token.stringBytes, let line = MonitorLine(parsing: bytes) else { return }
            continuation.yield(line)
        }
        let reply = await connection.send(deadline: deadline(blockingTimeout: nil)) { $0.writeRESPCommand("MONITOR" as StaticString) }
        let failure: GlideError? =
            switch reply {
            case .failure(let error): error
            case .success(let answer): answer.token.type.isError ? GlideError.server(answer.token, address: address.description) : nil
            }
        if let failure {
            connection.close()
            continuation.finish()
            throw failure
        }
        // The stream holds the session (which the connection holds weakly) and closes the
        // connection when it ends, however it ends; the core ends it when the client closes.
        let id = connection.id
        monitors.withLock { $0[id] = (connection, continuation) }
        continuation.onTermination = { [weak self] _ in
            withExtendedLifetime(session) { connection.close() }
            self?.monitors.withLock { _ = $0.removeValue(forKey: id) }
        }
        // Closed meanwhile: `close()` may have ended the monitors before this one was listed.
        if closed { endMonitors() }
        return GlideMonitor(stream: stream)
    }

    /// Ends every open monitor's stream with `.clientClosed` and closes its connection.
    func endMonitors() {
        let open = monitors.withLock { monitors in
            defer { monitors = [:] }
            return Array(monitors.values)
        }
        for (connection, continuation) in open {
            continuation.finish(throwing: GlideError(.clientClosed, "the client is closed"))
            connection.close()
        }
    }
}

extension GlideClient {
    /// The commands a node runs, as `MONITOR` shows them, on a connection of its own
    /// (`GlideMonitor`): the primary's, or `node`'s (one of the client's nodes, or any other).
    public func monitor(node: NodeAddress? = nil) async throws(GlideError) -> GlideMonitor {
        try await core.monitor(node ?? routing.primary.connector.address)
    }
}

extension GlideClusterClient {
    /// The commands `node` runs, as `MONITOR` shows them, on a connection of its own
    /// (`GlideMonitor`). A cluster has no one place every command passes: monitor each node
    /// whose traffic you want.
    public func monitor(node: NodeAddress) async throws(GlideError) -> GlideMonitor {
        try await core.monitor(node)
    }
}
