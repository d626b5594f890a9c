public import GlideCompression
import GlideConnection
public import GlideTLS
import GlideTransport

/// Everything a `GlideClusterClient` needs to connect. Defaults follow GLIDE.
public struct GlideClusterClientConfiguration: Sendable {
    /// Seed nodes: any node of the cluster will do; the rest are discovered.
    public var addresses: [NodeAddress]
    /// Whether to connect with TLS: verified against the system trust store unless
    /// `tlsConfiguration` says otherwise. A TLS failure never falls back to plain text.
    public var useTLS: Bool = false
    /// What TLS trusts and presents (custom CA, client certificate, server name, `insecure`);
    /// `nil` uses the defaults. Setting it without `useTLS` is a configuration error.
    public var tlsConfiguration: TLSConfiguration?
    /// Credentials sent on every connection; `nil` connects unauthenticated.
    public var credentials: ServerCredentials?
    /// Short-lived credentials (an IAM-style token), asked for before each connection attempt and
    /// refreshed on open connections every `refreshInterval`; in place of `credentials`, which
    /// must then be `nil`.
    public var credentialsProvider: CredentialsProvider?
    /// Which node serves read-only commands.
    public var readFrom: ReadFrom = .primary
    /// The client's availability zone, for the AZ-affinity `readFrom` strategies.
    public var clientAZ: String?
    /// How long a request may take, from the call to the reply, including redirections and
    /// retries. 250 ms.
    public var requestTimeout: Duration = .milliseconds(250)
    /// How long connecting to a node (TCP, the TLS handshake, and the `HELLO` handshake) may take. 2 s.
    public var connectionTimeout: Duration = .seconds(2)
    /// How reconnection attempts to each node are spaced once its connection is lost: the first
    /// at once, then after each failure `factor × exponentBase^n` ms with jitter, the longest
    /// delay repeating.
    public var reconnectStrategy: BackoffStrategy = BackoffStrategy()
    /// How often each idle node connection is checked with a `PING`, so a silent node is found
    /// without traffic; `nil` turns the checks off. 3 s.
    public var heartbeatInterval: Duration? = .seconds(3)
    /// The logical database (Valkey 9 clusters have several; other servers only 0).
    public var databaseID: Int = 0
    /// The name shown by `CLIENT LIST` on every node.
    public var clientName: String?
    /// RESP3 unless set to RESP2.
    public var protocolVersion: ProtocolVersion = .resp3
    /// The most requests waiting for replies at once on one node's connection. 1000.
    public var inflightRequestsLimit: Int = 1000
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
    /// Identical read-only requests in flight at once on a node's connection share one round
    /// trip, as `GlideClientConfiguration.coalescesReads` says: a read joins only a request not
    /// yet written, so it never misses a write that completed before it started. Off.
    public var coalescesReads: Bool = false
    /// The pool `withDedicatedConnection` borrows from: up to 16 connections per node, idle ones
    /// kept a minute (`Docs/pooling.md`).
    public var dedicatedConnections = DedicatedPoolConfiguration()
    /// When the topology is checked and refreshed.
    public var topologyRefresh: TopologyRefreshPolicy = TopologyRefreshPolicy()
    /// How many nodes a refresh asks for their view of the cluster. 10, as GLIDE.
    public var topologySampleSize: Int = 10
    /// Refreshes, periodic and on demand, ask only the seed `addresses`, never the nodes the
    /// client discovered (GLIDE 2.2's `refreshTopologyFromInitialNodes`): for seeds that are a
    /// stable endpoint, such as a DNS name or a load balancer, in front of nodes whose own
    /// addresses change. Off by default.
    public var refreshTopologyFromInitialNodes: Bool = false
    /// Subscriptions made as the client connects (exact, pattern and sharded), kept through
    /// reconnections, failovers and slot moves, and where published messages go; `nil`: none
    /// until the client subscribes, messages on `pubsubMessages()`.
    public var pubsub: PubSubConfiguration?
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
    /// The event loops a client takes one of at `create`, in turn: its timers and coordination run
    /// on that loop's thread, and so do all its connections unless `eventLoopCount` spreads them.
    /// `.shared`: one loop per online CPU, so clients spread over the cores.
    public var eventLoopGroup: EpollEventLoopGroup = .shared
    /// Opens each connection's stream, given the client's own connector to wrap (to count or
    /// record bytes, say) or to ignore for a transport of your own; `nil`: the client's own
    /// (TCP or a Unix socket, with TLS when configured). See `GlideConnector`.
    public var connector: (any GlideConnector)?
    /// How many of `eventLoopGroup`'s loops the client's node connections spread over: its own
    /// loop and the ones after it in the group. 1, the default, keeps everything on one loop's
    /// thread. More lets the nodes' reads, decoding and resumes use several cores, at the cost
    /// of a hand-over to the client's loop for each connection event (connected, lost) and each
    /// server-side unsubscription; published messages and pub/sub callbacks then run on the
    /// thread of the loop whose connection received them. At most the group's loop count.
    public var eventLoopCount: Int = 1
    /// The loop the client runs on, when set (tests give a loop of their own); `nil`: the next of
    /// `eventLoopGroup`, chosen once at `create`.
    var eventLoop: EpollEventLoop?

    /// A configuration for the cluster reachable at `addresses` (seed nodes); every other option
    /// is a property with its default, set after this.
    public init(addresses: [NodeAddress]) {
        self.addresses = addresses
    }
}
