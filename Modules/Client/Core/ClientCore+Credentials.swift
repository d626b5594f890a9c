import GlideConnection
import GlideTransport

extension ClientCore {
    /// What each connection asks before an attempt, when the configuration has a credentials
    /// provider: the provider's answer, kept as the credentials every new connection starts with.
    /// It holds the core weakly, as the core owns the connections.
    var credentialsSource: (@Sendable () async -> ServerCredentials?)? {
        guard options.credentialsProvider != nil else { return nil }
        return { [weak self] in await self?.fetchCredentials() }
    }

    /// Asks the provider; its answer replaces the credentials new connections start with. A
    /// failure is logged and leaves them.
    func fetchCredentials() async -> ServerCredentials? {
        guard let provider = options.credentialsProvider else { return nil }
        do {
            let fresh = try await provider.credentials()
            credentials.withLock { $0 = fresh }
            return fresh
        } catch {
            observer?.log(.warning, "the credentials provider failed: \(error); keeping the credentials in use", [:])
            return nil
        }
    }

    /// With a provider's `refreshInterval`: authenticates `connections()` again with fresh
    /// credentials every interval, on the loop's clock, until `close()`. (Every connection
    /// attempt asks the provider itself, through `credentialsSource`.)
    func startCredentialRefresh(connections: @escaping @Sendable () -> [Connection]) {
        guard let interval = options.credentialsProvider?.refreshInterval else { return }
        let loop = self.loop
        // Owned by `credentialRefresh`: `close()` cancels and awaits it, `closeWithoutWaiting()`
        // cancels it.
        let task = Task { [weak self] in
            while await LoopPause.sleep(until: loop.now() + interval, on: loop) {
                guard let self else { return }
                guard let fresh = await fetchCredentials() else { continue }
                do throws(GlideError) {
                    try await rotateCredentials(
                        password: fresh.password, username: fresh.username, immediateAuth: true, on: connections())
                } catch {
                    observer?.log(.warning, "authenticating again with refreshed credentials failed: \(error.message)", [:])
                }
            }
        }
        credentialRefresh.withLock { $0 = task }
    }

    /// Ends the refreshes and waits for them.
    func stopCredentialRefresh() async {
        guard let task = credentialRefresh.withLock({ $0 }) else { return }
        task.cancel()
        await task.value
    }
}
