public import GlideCompression
import GlideConnection
public import GlideTLS
import GlideTransport

/// Everything a standalone `GlideClient` needs to connect. Defaults follow GLIDE.
public struct GlideClientConfiguration: Sendable {
    /// The primary first, then its replicas. The client connects to all of them, learns their
    /// roles (`HELLO`, `ROLE`) and follows a failover to whichever becomes the primary; a
    /// primary's other replicas are found on their own when reads go to replicas. Not read when
    /// `sentinel` is set: the sentinels name the nodes.
    public var addresses: [NodeAddress]
    /// A client-side cache of the replies of read-only single-key commands, kept correct by the
    /// server's invalidations (`CLIENT TRACKING`, RESP3 only); `nil`: none. See `ClientSideCache`.
    public var clientSideCache: ClientSideCache?
    /// Values compressed as GLIDE compresses them (opt-in, `nil` by default): `SET`-like
    /// commands compress values of at least `minimumSize` bytes, `GET`-like commands decompress
    /// them, and values written without compression read as they are (`Docs/compression.md`).
    public var compression: CompressionConfiguration?
    /// Hooks for logs, metrics and traces (`GlideObservability`); `nil`: none, at the cost of
    /// one check per request.
    public var observability: GlideObservability?
    /// Valkey Sentinel: the sentinels to ask for the primary and its replicas, and to follow
    /// through failovers, in place of `addresses`. `nil`: the nodes are `addresses`.
    public var sentinel: SentinelConfiguration?
    /// Whether to connect with TLS: verified against the system trust store unless
    /// `tlsConfiguration` says otherwise. A TLS failure never falls back to plain text.
    public var useTLS: Bool = false
    /// What TLS trusts and presents (custom CA, client certificate, server name, `insecure`);
    /// `nil` uses the defaults. Setting it without `useTLS` is a configuration error.
    public var tlsConfiguration: TLSConfiguration?
    /// Credentials sent when connecting; `nil` connects unauthenticated.
    public var credentials: ServerCredentials?
    /// Short-lived credentials (an IAM-style token), asked for before each connection attempt and
    /// refreshed on open connections every `refreshInterval`; in place of `credentials`, which
    /// must then be `nil`.
    public var credentialsProvider: CredentialsProvider?
    /// Which node serves read-only commands (by the command table's `readonly` flag); writes
    /// always go to the primary.
    public var readFrom: ReadFrom = .primary
    /// The client's availability zone, for the AZ-affinity `readFrom` strategies (which need it),
    /// matched against each node's `availability-zone`. Setting it for another strategy is a
    /// configuration error: it would do nothing.
    public var clientAZ: String?
    /// How long a request may take, from the call to the reply, including waiting for a
    /// reconnection. 250 ms.
    public var requestTimeout: Duration = .milliseconds(250)
    /// How long connecting (TCP, the TLS handshake, and the `HELLO` handshake) may take. 2 s.
    public var connectionTimeout: Duration = .seconds(2)
    /// How reconnection attempts are spaced once a connection is lost: the first at once, then
    /// after each failure `factor × exponentBase^n` ms with jitter, the longest delay repeating.
    public var reconnectStrategy: BackoffStrategy = BackoffStrategy()
    /// How often each idle connection is checked with a `PING` (and, with several nodes, their
    /// roles with `ROLE`), so a silent peer is found without traffic; `nil` turns the checks off. 3 s.
    public var heartbeatInterval: Duration? = .seconds(3)
    /// Refuses write commands before sending them (`.configuration`); reads go where `readFrom`
    /// says, and a client may list only replicas. GLIDE 2.3's `readOnly`.
    public var readOnly: Bool = false
    /// The logical database selected after connecting.
    public var databaseID: Int = 0
    /// The name shown by `CLIENT LIST`.
    public var clientName: String?
    /// RESP3 unless set to RESP2.
    public var protocolVersion: ProtocolVersion = .resp3
    /// The most requests waiting for replies at once; more fail at once. 1000.
    public var inflightRequestsLimit: Int = 1000
    /// Identical read-only requests in flight at once share one round trip: a `GET` of a hot key
    /// from many tasks reaches the server once per write to the socket instead of once per task.
    /// A read joins only a request not yet written, so it never misses a write that completed
    /// before it started (`Docs/resilience.md`, "Coalesced reads"). On every node's connection,
    /// primary and replicas. Off.
    public var coalescesReads: Bool = false
    /// Whether `create` returns before connecting; the first request connects.
    public var lazyConnect: Bool = false
    /// The most bytes one reply may take, everything nested in it included; a longer one (refused
    /// on its announced lengths, before they are read) ends its connection with `.protocolError`,
    /// and the connection reconnects. 512 MiB (the server's own `proto-max-bulk-len`) and a
    /// header's room, so the largest value a server holds still reads.
    public var maximumReplyLength: Int = RESPDecoder.defaultMaximumFrameLength
    /// A circuit breaker per node, off (`nil`) by default: after the node failed too many requests
    /// (timeouts, lost or failed connections; never an error reply), requests to it fail at once
    /// with `.circuitOpen` for a while, then one probe request decides whether it is back
    /// (`Docs/circuit-breaker.md`).
    public var circuitBreaker: CircuitBreakerConfiguration?
    /// Request timeouts that follow each node's measured latency, off (`nil`) by default: a
    /// single request fails once it takes several times the node's 99.9th percentile, never
    /// sooner than a floor, and never later than `requestTimeout` (`Docs/resilience.md`,
    /// "Adaptive timeouts").
    public var adaptiveTimeout: AdaptiveTimeout?
    /// Hedged reads, off (`nil`) by default: a read sent to a replica that is slower than its
    /// nodes usually are is sent once more to another node that may serve it, and the first
    /// reply wins; a budget caps the extra requests (`Docs/resilience.md`, "Hedged reads"). Only
    /// reads that `readFrom` (or a call's own) lets go to replicas are hedged.
    public var hedgedReads: HedgedReads?
    /// The pool `withDedicatedConnection` borrows from: up to 16 connections per node, idle ones
    /// kept a minute (`Docs/pooling.md`).
    public var dedicatedConnections = DedicatedPoolConfiguration()
    /// Subscriptions made as the client connects (and after every reconnection), and where
    /// published messages go; `nil`: none until the client subscribes, messages on
    /// `pubsubMessages()`.
    public var pubsub: PubSubConfiguration?
    /// The event loops a client takes one of at `create`, in turn: all its connections, timers and
    /// coordination run on that loop's thread. `.shared`: one loop per online CPU, so clients
    /// spread over the cores.
    public var eventLoopGroup: EpollEventLoopGroup = .shared
    /// Opens each connection's stream, given the client's own connector to wrap (to count or
    /// record bytes, say) or to ignore for a transport of your own; `nil`: the client's own
    /// (TCP or a Unix socket, with TLS when configured). See `GlideConnector`.
    public var connector: (any GlideConnector)?
    /// The loop the client runs on, when set (tests give a loop of their own); `nil`: the next of
    /// `eventLoopGroup`, chosen once at `create`.
    var eventLoop: EpollEventLoop?

    /// A configuration for the servers at `addresses` (by default `localhost:6379`); every other
    /// option is a property with its default, set after this.
    public init(addresses: [NodeAddress] = [NodeAddress()]) {
        self.addresses = addresses
    }
}
