import GlideCompression
import GlideConnection
import GlideRouter
import GlideTLS
import GlideTopology
import GlideTransport

/// The settings both configurations share, as every connection of a client is made with them.
struct ClientOptions: Sendable {
    var addresses: [NodeAddress]
    var useTLS: Bool
    var tlsConfiguration: TLSConfiguration?
    var credentials: ServerCredentials?
    var credentialsProvider: CredentialsProvider?
    var readFrom: ReadFrom
    var clientAZ: String?
    var requestTimeout: Duration
    var connectionTimeout: Duration
    var reconnectStrategy: BackoffStrategy
    var heartbeatInterval: Duration?
    var databaseID: Int
    var clientName: String?
    var protocolVersion: ProtocolVersion
    var inflightRequestsLimit: Int
    var maximumReplyLength: Int
    var circuitBreaker: CircuitBreakerConfiguration?
    var adaptiveTimeout: AdaptiveTimeout?
    var hedgedReads: HedgedReads?
    var coalescesReads: Bool
    var dedicatedConnections: DedicatedPoolConfiguration
    var clientSideCache: ClientSideCache?
    var compression: CompressionConfiguration?
    var observability: GlideObservability?
    var connector: (any GlideConnector)?
    /// Connections declare `CLIENT CAPA redirect` (a standalone client follows `-REDIRECT`).
    var declaresRedirect = false

    /// How long past its deadline the oldest unanswered reply may be before its connection is
    /// declared dead: the larger of 2 s and the request timeout.
    var staleReplyGrace: Duration { max(.seconds(2), requestTimeout) }

    /// How long a heartbeat or a role check waits for its reply: the request timeout, at least 1 s.
    var checkTimeout: Duration { max(.seconds(1), requestTimeout) }
}

/// The settings both configurations have, under the same names: what `ClientOptions` is read from.
protocol SharedClientSettings {
    var addresses: [NodeAddress] { get }
    var useTLS: Bool { get }
    var tlsConfiguration: TLSConfiguration? { get }
    var credentials: ServerCredentials? { get }
    var credentialsProvider: CredentialsProvider? { get }
    var readFrom: ReadFrom { get }
    var clientAZ: String? { get }
    var requestTimeout: Duration { get }
    var connectionTimeout: Duration { get }
    var reconnectStrategy: BackoffStrategy { get }
    var heartbeatInterval: Duration? { get }
    var databaseID: Int { get }
    var clientName: String? { get }
    var protocolVersion: ProtocolVersion { get }
    var inflightRequestsLimit: Int { get }
    var maximumReplyLength: Int { get }
    var circuitBreaker: CircuitBreakerConfiguration? { get }
    var adaptiveTimeout: AdaptiveTimeout? { get }
    var hedgedReads: HedgedReads? { get }
    var coalescesReads: Bool { get }
    var dedicatedConnections: DedicatedPoolConfiguration { get }
    var eventLoop: EpollEventLoop? { get set }
    var eventLoopGroup: EpollEventLoopGroup { get }
    var clientSideCache: ClientSideCache? { get }
    var compression: CompressionConfiguration? { get }
    var observability: GlideObservability? { get }
    var connector: (any GlideConnector)? { get }
}

extension SharedClientSettings {
    var options: ClientOptions {
        ClientOptions(
            addresses: addresses, useTLS: useTLS, tlsConfiguration: tlsConfiguration, credentials: credentials,
            credentialsProvider: credentialsProvider, readFrom: readFrom, clientAZ: clientAZ, requestTimeout: requestTimeout,
            connectionTimeout: connectionTimeout,
            reconnectStrategy: reconnectStrategy, heartbeatInterval: heartbeatInterval, databaseID: databaseID,
            clientName: clientName, protocolVersion: protocolVersion, inflightRequestsLimit: inflightRequestsLimit,
            maximumReplyLength: maximumReplyLength, circuitBreaker: circuitBreaker, adaptiveTimeout: adaptiveTimeout,
            hedgedReads: hedgedReads, coalescesReads: coalescesReads,
            dedicatedConnections: dedicatedConnections, clientSideCache: clientSideCache, compression: compression,
            observability: observability, connector: connector)
    }
}

extension SharedClientSettings {
    /// These settings with the loop the client will run on chosen: the one set, else the group's
    /// next. Each `create` calls this once, first, so every part of a client uses one loop.
    func choosingLoop() -> Self {
        var settings = self
        settings.eventLoop = eventLoop ?? eventLoopGroup.next()
        return settings
    }

    /// The loop chosen by `choosingLoop()`.
    var chosenLoop: EpollEventLoop {
        guard let eventLoop else { preconditionFailure("create chooses the loop first") }
        return eventLoop
    }
}

extension GlideClientConfiguration: SharedClientSettings {}
extension GlideClusterClientConfiguration: SharedClientSettings {}

/// The checks and preparations both clients' `create` share.
enum ClientSetup {
    /// Checks the settings both configurations have; each client checks its own on top. A
    /// setting that would do nothing is an error, never silently ignored.
    static func validate(_ options: ClientOptions) throws(GlideError) {
        func invalid(_ message: String) -> GlideError { GlideError(.configuration, message) }
        guard !options.addresses.isEmpty else { throw invalid("no address to connect to") }
        for address in options.addresses where !address.isUnixSocket {
            guard (1...65535).contains(address.port) else { throw invalid("port \(address.port) of \(address.host) is out of range") }
            guard !address.host.isEmpty else { throw invalid("an address has an empty host name") }
        }
        if options.tlsConfiguration != nil && !options.useTLS {
            throw invalid("tlsConfiguration is set but useTLS is false: set useTLS to connect with TLS")
        }
        guard options.requestTimeout > .zero else { throw invalid("requestTimeout must be positive") }
        guard options.connectionTimeout > .zero else { throw invalid("connectionTimeout must be positive") }
        guard options.inflightRequestsLimit > 0 else { throw invalid("inflightRequestsLimit must be positive") }
        guard options.maximumReplyLength > 0 else { throw invalid("maximumReplyLength must be positive") }
        if let problem = options.circuitBreaker?.problem { throw invalid(problem) }
        if let problem = options.adaptiveTimeout?.problem { throw invalid(problem) }
        if let problem = options.hedgedReads?.problem { throw invalid(problem) }
        if let problem = options.dedicatedConnections.problem { throw invalid(problem) }
        if let compression = options.compression, let problem = ValueCompressor.problem(with: compression) { throw invalid(problem) }
        if let provider = options.credentialsProvider {
            guard options.credentials == nil else {
                throw invalid("credentials and credentialsProvider are both set: the provider gives the credentials")
            }
            if let interval = provider.refreshInterval, interval <= .zero {
                throw invalid("credentialsProvider.refreshInterval must be positive, or nil to refresh at connection attempts only")
            }
        }
        guard options.databaseID >= 0 else { throw invalid("databaseID must not be negative") }
        if let name = options.clientName, name.contains(where: { $0 == " " || $0 == "\n" }) {
            throw invalid("clientName must not contain spaces or newlines")
        }
        if let interval = options.heartbeatInterval, interval <= .zero {
            throw invalid("heartbeatInterval must be positive, or nil to turn the checks off")
        }
        let backoff = options.reconnectStrategy
        guard backoff.numberOfRetries >= 0, backoff.factor > 0, backoff.exponentBase >= 1, (0...100).contains(backoff.jitterPercent) else {
            throw invalid("reconnectStrategy needs numberOfRetries >= 0, factor > 0, exponentBase >= 1 and jitterPercent in 0...100")
        }
        if let cache = options.clientSideCache {
            guard options.protocolVersion == .resp3 else {
                throw invalid(
                    "clientSideCache needs RESP3: the server's invalidations arrive as pushes on the connection that read the key")
            }
            guard cache.maximumBytes > 0 else { throw invalid("clientSideCache.maximumBytes must be positive") }
            if let problem = cache.trackingProblem { throw invalid(problem) }
            if let ttl = cache.entryTTL, ttl <= .zero { throw invalid("clientSideCache.entryTTL must be positive, or nil for no expiry") }
        }
        switch options.readFrom {
        case .azAffinity, .azAffinityReplicasAndPrimary:
            guard let zone = options.clientAZ, !zone.isEmpty else {
                throw invalid("readFrom \(options.readFrom) needs clientAZ, the client's availability zone")
            }
        case .primary, .preferReplica:
            if options.clientAZ != nil {
                throw invalid("clientAZ is only used by the AZ-affinity readFrom strategies; with \(options.readFrom) it would do nothing")
            }
        }
    }

    /// The TLS context for `useTLS`, built once: a certificate or key that does not load fails
    /// `create` with `.configuration` before anything connects.
    static func tlsContext(_ options: ClientOptions) throws(GlideError) -> TLSContextProvider? {
        guard options.useTLS else { return nil }
        do {
            return try TLSContextProvider(options.tlsConfiguration ?? TLSConfiguration())
        } catch {
            throw GlideError(.configuration, "TLS can't be set up: \(error)", transportError: error)
        }
    }
}
