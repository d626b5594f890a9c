import GlideConnection
import GlideTransport

/// The checks of a Sentinel configuration.
enum SentinelSetup {
    /// A list of sentinels and a primary name are needed; the sentinels' addresses are checked as
    /// the nodes' would be.
    static func validate(_ sentinel: SentinelConfiguration, options: ClientOptions) throws(GlideError) {
        guard !sentinel.sentinels.isEmpty else { throw GlideError(.configuration, "sentinel lists no sentinel to ask") }
        guard !sentinel.primaryName.isEmpty else { throw GlideError(.configuration, "sentinel's primaryName is empty") }
        var checked = options
        checked.addresses = sentinel.sentinels
        try ClientSetup.validate(checked)
    }
}

extension GlideClient {
    /// Asks the sentinels for the nodes: `configuration` with the primary and its replicas as
    /// its addresses, and the sentinels in the order to ask them from now on (the one that
    /// answered first).
    static func resolveSentinel(_ configuration: GlideClientConfiguration, core: SocketCore) async throws(GlideError)
        -> (GlideClientConfiguration, [NodeAddress])
    {
        guard let sentinel = configuration.sentinel else { return (configuration, []) }
        let outcome = await SentinelMonitor<EpollEventLoop, SocketConnector>.discover(
            sentinel.sentinels, primaryName: sentinel.primaryName, timeout: core.options.checkTimeout, loop: core.loop
        ) { core.makeSentinelConnection($0, credentials: sentinel.credentials) { _, _ in } }
        let found = try outcome.get()
        var resolved = configuration
        // The replicas are connected even when reads go to the primary: a failover then finds
        // the new primary's connection open.
        resolved.addresses = [found.report.primary] + found.report.replicas.filter { $0 != found.report.primary }
        var order = sentinel.sentinels
        order.insert(order.remove(at: found.from), at: 0)
        return (resolved, order)
    }

    /// The monitor of `configuration.sentinel`'s sentinels, asking `order` first.
    static func sentinelMonitor(
        _ configuration: GlideClientConfiguration, core: SocketCore, roles: RoleFollower<EpollEventLoop, SocketConnector>,
        order: [NodeAddress]
    ) -> SentinelMonitor<EpollEventLoop, SocketConnector> {
        let sentinel = configuration.sentinel!
        return SentinelMonitor(
            loop: core.loop, configuration: sentinel, order: order, requestTimeout: core.options.checkTimeout,
            checkInterval: configuration.heartbeatInterval ?? .seconds(3),
            makeConnection: { address, pushes in
                // The core never holds the monitor, so this is no cycle.
                core.makeSentinelConnection(address, credentials: sentinel.credentials, pushHandler: pushes)
            },
            declare: { await roles.primaryDeclared($0) })
    }

    /// Names the primary the sentinels gave to the role follower, and starts following them.
    func startSentinel() async {
        guard let sentinel, let primary = configuration.addresses.first else { return }
        await roles.primaryDeclared(SentinelReport(primary: primary, replicas: Array(configuration.addresses.dropFirst())))
        await sentinel.start()
    }
}
