public import GlideConnection

/// Where a client gets short-lived credentials (an IAM-style token) without a cloud SDK: an
/// `async` function it calls before each connection attempt, and every `refreshInterval` to
/// authenticate its open connections again before their token expires.
///
/// ```swift
/// configuration.credentialsProvider = CredentialsProvider(refreshInterval: .minutes(10)) {
///     ServerCredentials(password: try await tokens.current(), username: "app")
/// }
/// ```
///
/// A provider that throws leaves the client on the credentials it had; the failure is logged
/// (`warning`), and the next attempt or refresh asks again. It takes the place of `credentials`,
/// which must then be `nil`; `updateConnectionPassword` still works, until the provider's next
/// answer.
public struct CredentialsProvider: Sendable {
    /// How often open connections authenticate again with fresh credentials; `nil`: only new
    /// connections get fresh ones.
    public var refreshInterval: Duration?
    /// Returns the credentials to use now.
    public let credentials: @Sendable () async throws -> ServerCredentials

    /// A provider calling `credentials` before each connection attempt and every
    /// `refreshInterval` (`nil`: at connection attempts only).
    public init(refreshInterval: Duration? = nil, _ credentials: @escaping @Sendable () async throws -> ServerCredentials) {
        self.refreshInterval = refreshInterval
        self.credentials = credentials
    }
}
