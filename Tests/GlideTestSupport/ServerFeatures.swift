import Glide

/// What an older server of the matrix lacks (Redis 6.2 or 7.0), and what a test checks there
/// instead: the server's refusal, as the client hands it back.
public enum ServerFeatures {
    /// Whether the server of `flavor` (the main server when `nil`) has what Redis `version`
    /// brought. Valkey has everything the tests use from Redis 7.
    public static func has(redis version: String, flavor: ServerFlavor? = nil) -> Bool {
        let server = flavor == .redis ? ServerBinaries.redisFlavorServer : ServerBinaries.mainServer
        return server.isValkey || server.version >= ServerVersion(version)
    }

    /// Runs `body`, which uses `what` (brought by Redis `version`), and returns its result. On an
    /// older server `body` must fail with the server's own refusal (`.server`, the request sent
    /// and the client usable after it): that is checked, the log says so, and the result is nil.
    public static func since<Result>(
        redis version: String, _ what: String, flavor: ServerFlavor? = nil, _ body: () async throws -> Result
    ) async throws -> Result? {
        if has(redis: version, flavor: flavor) { return try await body() }
        do {
            _ = try await body()
        } catch let error as GlideError where error.code == .server {
            print("\(ServerBinaries.mainServer.version): no \(what) (Redis \(version)); refused: \(error.message)")
            return nil
        }
        throw ServerFeatureError("\(what) is Redis \(version)'s, yet \(ServerBinaries.mainServer.version) did not refuse it")
    }
}

/// A server older than a feature did something other than refuse it.
public struct ServerFeatureError: Error, CustomStringConvertible {
    /// What happened.
    public let description: String
    init(_ description: String) { self.description = description }
}
