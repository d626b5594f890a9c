import GlideConnection
import GlideTransport

/// Where a standalone client finds its nodes when Valkey Sentinel manages them: the sentinels
/// to ask, and the name they monitor the primary under.
///
/// With it, `GlideClient.create` asks the sentinels for the primary and its replicas
/// (`SENTINEL GET-PRIMARY-ADDR-BY-NAME`, `SENTINEL REPLICAS`) instead of reading
/// `GlideClientConfiguration.addresses`, then subscribes to one sentinel's `+switch-master`
/// notices to follow failovers, and asks again whenever the primary's connection is lost.
///
/// ```swift
/// var configuration = GlideClientConfiguration()
/// configuration.sentinel = SentinelConfiguration(
///     sentinels: [NodeAddress(host: "s1", port: 26379), NodeAddress(host: "s2", port: 26379)],
///     primaryName: "mymaster")
/// let client = try await GlideClient.create(configuration)
/// ```
public struct SentinelConfiguration: Sendable, Hashable {
    /// The sentinels, asked in order; one that answers is asked first from then on.
    public var sentinels: [NodeAddress]
    /// The name the sentinels monitor the primary under (`sentinel monitor <name> …`).
    public var primaryName: String
    /// Credentials for the sentinels themselves (their `requirepass` or ACL user), which are
    /// often not the data nodes'; `nil` connects to them unauthenticated. The data nodes use
    /// the configuration's `credentials`.
    public var credentials: ServerCredentials?

    /// Sentinels at `sentinels` that monitor the primary named `primaryName`.
    public init(sentinels: [NodeAddress], primaryName: String, credentials: ServerCredentials? = nil) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.credentials = credentials
    }
}
