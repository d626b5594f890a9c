public import GlideTransport

/// The one error every client API throws.
///
/// `code` tells the kinds apart; `serverCode` carries the server's own code (`WRONGTYPE`,
/// `NOAUTH`, …) for server errors; `message` says what happened and `address` where. It is a
/// struct over named codes, so new codes never break a `switch`-free caller.
public struct GlideError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public var code: Code { storage.code }
    /// What happened.
    public var message: String { storage.message }
    /// For server errors, the first word of the server's message, such as `WRONGTYPE`; for a
    /// timeout that ended a wait on a server condition, that condition's (`TRYAGAIN`, …).
    public var serverCode: String? { storage.serverCode }
    /// The node involved, as `host:port`, when one was.
    public var address: String? { storage.address }
    /// The transport failure underneath, when there was one.
    public var transportError: TransportError? { storage.transportError }
    /// For a request sent that got no reply in time, how fast its node has been answering over
    /// the last minute (from the requests sampled on the connection); `nil` when nothing was
    /// sampled. `nodeLatency.suggestedTimeout` is a request timeout that covers that pace.
    public var nodeLatency: NodeLatency? { storage.nodeLatency }

    // One reference, so every `Result` carrying an error stays small: an async frame keeps each
    // such value of the request path, and every task waiting for a reply holds its frames.
    private let storage: Storage

    private final class Storage: Sendable {
        let code: Code
        let message: String
        let serverCode: String?
        let address: String?
        let transportError: TransportError?
        let nodeLatency: NodeLatency?

        init(
            code: Code, message: String, serverCode: String?, address: String?, transportError: TransportError?,
            nodeLatency: NodeLatency?
        ) {
            self.code = code
            self.message = message
            self.serverCode = serverCode
            self.address = address
            self.transportError = transportError
            self.nodeLatency = nodeLatency
        }
    }

    /// An error of `code` with `message`.
    public init(
        _ code: Code, _ message: String, serverCode: String? = nil, address: String? = nil,
        transportError: TransportError? = nil, nodeLatency: NodeLatency? = nil
    ) {
        storage = Storage(
            code: code, message: message, serverCode: serverCode, address: address, transportError: transportError,
            nodeLatency: nodeLatency)
    }

    /// The kinds of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The kind's name.
        public let description: String

        /// The server replied with an error; `serverCode` has its code.
        public static let server = Code(description: "server error")
        /// The request got no reply within its timeout. Its late reply is discarded.
        public static let timeout = Code(description: "timeout")
        /// The connection was lost while the request was in flight; it may or may not have run.
        public static let connectionClosed = Code(description: "connection closed")
        /// A connection could not be established: refused, unreachable, timed out, unresolvable.
        public static let connectionFailed = Code(description: "connection failed")
        /// The server rejected the credentials, or requires some.
        public static let authenticationFailed = Code(description: "authentication failed")
        /// The ACL user may not run the command or touch the key (`NOPERM`); the connection stays
        /// usable.
        public static let permissionDenied = Code(description: "permission denied")
        /// TLS failed: the certificate was not trusted, named another host, expired, the server
        /// wanted a client certificate, or the peers did not agree. `transportError.kind` says
        /// which. Nothing is ever retried in plain text.
        public static let tls = Code(description: "TLS failure")
        /// The configuration is invalid, or asks for something this build can't do.
        public static let configuration = Code(description: "configuration error")
        /// The server sent bytes that are not valid RESP, or a reply of an unexpected shape.
        public static let protocolError = Code(description: "protocol error")
        /// Too many requests are waiting for replies; the request was not sent.
        public static let tooManyInflightRequests = Code(description: "too many in-flight requests")
        /// A cluster request could not be routed: a slot no node serves, an address that is not
        /// a node of the cluster, a transaction whose keys are in different slots, or a reply per
        /// node asked for as one value.
        public static let routing = Code(description: "routing error")
        /// The client was closed by `close()`.
        public static let clientClosed = Code(description: "client closed")
        /// The caller's task was cancelled. A request not yet sent was dropped and never ran; one
        /// already sent may have run, and its reply is discarded. A blocking command already
        /// sent is unblocked on the server first (`CLIENT UNBLOCK`), so no value it would have
        /// taken is lost.
        public static let cancelled = Code(description: "cancelled")
        /// The node's circuit breaker is open (`circuitBreaker` in the configuration): the
        /// request failed at once, without being sent, after the node failed too many requests.
        public static let circuitOpen = Code(description: "circuit open")
        /// A value read in chunks (`readValue`) changed while it was read: the chunks handed over
        /// may mix two versions.
        public static let valueChanged = Code(description: "value changed")
    }

    /// The code, the message and the node.
    public var description: String {
        var text = "\(code): \(message)"
        if let address { text += " [\(address)]" }
        return text
    }
}

extension GlideError {
    /// The error for a transport failure while connecting: TLS kinds are `.tls` (a TLS setup
    /// that can't load is `.configuration`), a bad address `.configuration`, the rest
    /// `.connectionFailed`.
    package static func connecting(_ error: TransportError, address: String?) -> GlideError {
        let code: Code
        switch error.kind {
        case .invalidAddress, .tlsConfigurationInvalid: code = .configuration
        case let kind where kind.isTLS: code = .tls
        default: code = .connectionFailed
        }
        return GlideError(code, "could not connect: \(error)", address: address, transportError: error)
    }

    /// The error a server error reply stands for.
    package static func server(_ token: RESPToken, address: String?) -> GlideError {
        let message = token.stringBytes?.string ?? "(unreadable error)"
        let code = token.errorCode
        switch code {
        case "NOAUTH", "WRONGPASS":
            return GlideError(.authenticationFailed, message, serverCode: code, address: address)
        case "NOPERM":
            return GlideError(.permissionDenied, message, serverCode: code, address: address)
        default:
            return GlideError(.server, message, serverCode: code, address: address)
        }
    }
}
