import Foundation
import Glide
import GlideTestSupport
import GlideTransport
import Synchronization
import Testing

/// Short-lived credentials from a provider, against a real server whose ACL user's password the
/// test rotates: each connection attempt asks the provider, and with a refresh interval the open
/// connections authenticate again with its fresh answer.
@Suite(.timeLimit(.minutes(2))) struct CredentialsProviderTests {
    /// The token the provider hands out, as the test rotates it, and how often it was asked.
    final class Tokens: Sendable {
        let current = Lock("token-1")
        let asked = Atomic<Int>(0)
        let failing = Atomic<Bool>(false)

        var provider: @Sendable () async throws -> ServerCredentials {
            { [self] in
                asked.add(1, ordering: .relaxed)
                if failing.load(ordering: .relaxed) { throw GlideError(.authenticationFailed, "the token service is down") }
                return ServerCredentials(password: current.withLock { $0 }, username: "svc")
            }
        }
    }

    static func serverWithUser() async throws -> (TestServer, GlideClient) {
        let server = try await TestServer.startValkey()
        let admin = try await server.client()
        _ = try await admin.customCommand(["ACL", "SETUSER", "svc", "on", ">token-1", "~*", "&*", "+@all"])
        return (server, admin)
    }

    @Test func eachConnectionAttemptAsksTheProviderSoARotatedTokenIsUsedOnReconnect() async throws {
        let (server, admin) = try await Self.serverWithUser()
        defer { server.stop() }
        let tokens = Tokens()
        let client = try await GlideClient.create(
            server.configuration { $0.credentialsProvider = CredentialsProvider(tokens.provider) })
        #expect(try await client.customCommand(["ACL", "WHOAMI"]).stringValue == "svc")
        // The old token stops working; the next connection must use the new one.
        tokens.current.withLock { $0 = "token-2" }
        _ = try await admin.customCommand(["ACL", "SETUSER", "svc", "resetpass", ">token-2"])
        let asked = tokens.asked.load(ordering: .relaxed)
        _ = try await admin.customCommand(["CLIENT", "KILL", "USER", "svc"])
        try await Polling.waitUntil("the client is back as svc", timeout: .seconds(10)) {
            (try? await client.customCommand(["ACL", "WHOAMI"]).stringValue) == "svc"
        }
        #expect(tokens.asked.load(ordering: .relaxed) > asked, "the reconnection asked the provider")
        await client.close()
        await admin.close()
    }

    @Test func aRefreshIntervalAuthenticatesOpenConnectionsAgainAndAFailingProviderKeepsTheLastToken() async throws {
        let (server, admin) = try await Self.serverWithUser()
        defer { server.stop() }
        let tokens = Tokens()
        let client = try await GlideClient.create(
            server.configuration {
                $0.credentialsProvider = CredentialsProvider(refreshInterval: .milliseconds(100), tokens.provider)
            })
        @Sendable func authCalls() async throws -> Int {
            let stats = try await admin.customCommand(["INFO", "commandstats"]).stringValue ?? ""
            let line = stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_auth:") } ?? ""
            return Int(line.split(separator: ",").first?.split(separator: "=").last ?? "0") ?? 0
        }
        // Both tokens work while the new one is handed out; the refresh sends AUTH with it.
        _ = try await admin.customCommand(["ACL", "SETUSER", "svc", ">token-2"])
        tokens.current.withLock { $0 = "token-2" }
        let before = try await authCalls()
        try await Polling.waitUntil("an open connection authenticated again", timeout: .seconds(10)) {
            try await authCalls() > before
        }
        _ = try await admin.customCommand(["ACL", "SETUSER", "svc", "<token-1"])
        // A provider that fails leaves the client on the token it has: still usable.
        tokens.failing.store(true, ordering: .relaxed)
        let asked = tokens.asked.load(ordering: .relaxed)
        try await Polling.waitUntil("the failing provider was asked", timeout: .seconds(10)) {
            tokens.asked.load(ordering: .relaxed) > asked + 1
        }
        #expect(try await client.customCommand(["ACL", "WHOAMI"]).stringValue == "svc")
        await client.close()
        await admin.close()
    }

    @Test func aClusterClientDiscoversAndServesWithTheProvidersCredentials() async throws {
        let cluster = try await SharedCluster.valkey()
        let password = "cluster-token-\(UUID().uuidString)"
        for node in cluster.nodes {
            _ = try await cluster.command(node, ["ACL", "SETUSER", "svc-cluster", "on", ">\(password)", "~*", "&*", "+@all"])
        }
        let asked = Atomic<Int>(0)
        let client = try await GlideClusterClient.create(
            cluster.configuration {
                $0.credentialsProvider = CredentialsProvider {
                    asked.add(1, ordering: .relaxed)
                    return ServerCredentials(password: password, username: "svc-cluster")
                }
            })
        let key = SharedServer.uniqueKey()
        try await client.set(key, "v")
        #expect(try await client.get(key) == "v")
        let whoami = try await client.customCommand(["ACL", "WHOAMI"], route: .allPrimaries)
        #expect(whoami.values.allSatisfy { $0.stringValue == "svc-cluster" }, "\(whoami)")
        #expect(asked.load(ordering: .relaxed) >= 3, "each node's connection asked")
        await client.close()
    }

    @Test func credentialsAndAProviderTogetherAreRefused() async throws {
        let tokens = Tokens()
        var configuration = GlideClientConfiguration()
        configuration.credentials = ServerCredentials(password: "x")
        configuration.credentialsProvider = CredentialsProvider(tokens.provider)
        await #expect(throws: GlideError.self) { _ = try await GlideClient.create(configuration) }
        #expect(tokens.asked.load(ordering: .relaxed) == 0)
    }
}
