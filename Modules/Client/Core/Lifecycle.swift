extension GlideClient {
    /// Runs until its task is cancelled, then closes the client; returns at once if the client is
    /// closed meanwhile. Requests in flight when it closes fail with `.clientClosed`, as with
    /// `close()`.
    ///
    /// The shape of swift-service-lifecycle's `Service` (`func run() async throws`), so a service
    /// group can own the client: `extension GlideClient: @retroactive Service {}` is the whole
    /// conformance (`Docs/integration.md`).
    public func run() async throws {
        await core.closeSignal.wait()
        await close()
        // A close begun elsewhere may still run: return once it has.
        await core.closeSignal.wait(cancellable: false)
    }
}

extension GlideClusterClient {
    /// Runs until its task is cancelled, then closes the client, as `GlideClient.run()` does.
    public func run() async throws {
        await core.closeSignal.wait()
        await close()
        await core.closeSignal.wait(cancellable: false)
    }
}
