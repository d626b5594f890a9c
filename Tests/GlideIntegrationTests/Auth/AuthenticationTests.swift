import Foundation
import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct AuthenticationTests {
    @Test func anACLUserGetsATypedPermissionErrorAndStaysUsable() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let admin = try await server.client()
        _ = try await admin.customCommand([
            "ACL", "SETUSER", "reporter", "on", ">reporter-pass-77", "~report:*", "resetchannels",
            "+@connection", "+get", "+set", "+client",
        ])
        let client = try await server.client { $0.credentials = ServerCredentials(password: "reporter-pass-77", username: "reporter") }
        try await client.set("report:1", "ready")
        #expect(try await client.get("report:1") == "ready")

        let command = await #expect(throws: GlideError.self) { _ = try await client.del(["report:1"]) }
        #expect(command?.code == .permissionDenied)
        #expect(command?.serverCode == "NOPERM")
        let key = await #expect(throws: GlideError.self) { try await client.set("other:1", "no") }
        #expect(key?.code == .permissionDenied)
        // The same connection goes on working.
        #expect(try await client.get("report:1") == "ready")
        await client.close()
        await admin.close()
    }

    @Test func aConnectionURLCarriesTheUserThePasswordAndTheDatabase() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let admin = try await server.client()
        _ = try await admin.customCommand(["ACL", "SETUSER", "web", "on", ">p@ss:w/rd", "~*", "+@all"])
        // The password's @, : and / are percent-encoded in the URL.
        let url = "valkey://web:p%40ss%3Aw%2Frd@127.0.0.1:\(server.address.port)/3?client_name=from-url&protocol=resp2"
        let client = try await GlideClient.create(try GlideClientConfiguration(url: url))
        let info = try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        #expect(info.contains("user=web") && info.contains("db=3") && info.contains("name=from-url"))
        // CLIENT INFO names the protocol from Redis 7 on.
        #expect(info.contains("resp=2") || !ServerFeatures.has(redis: "7.0"))
        let wrong = await #expect(throws: GlideError.self) {
            try await GlideClient.create(try GlideClientConfiguration(url: "valkey://web:nope@127.0.0.1:\(server.address.port)"))
        }
        #expect(wrong?.code == .authenticationFailed)
        await client.close()
        await admin.close()
    }

    /// Pings until the connection that `CLIENT KILL` closed has been replaced (the first request
    /// may still meet the dead socket).
    func pingAfterKill(_ client: GlideClient) async throws -> String {
        var last: (any Error)?
        for _ in 0..<3 {
            do {
                return try await client.ping()
            } catch {
                guard error.code == .connectionClosed else { throw error }
                last = error
            }
        }
        throw last!
    }

    @Test func aRotatedPasswordIsUsedByTheNextReconnection() async throws {
        let server = try await TestServer.startValkey(["--requirepass", "first-pass-1"])
        defer { server.stop() }
        let admin = try await server.client { $0.credentials = ServerCredentials(password: "first-pass-1") }
        let client = try await server.client { $0.credentials = ServerCredentials(password: "first-pass-1") }
        func kill() async throws {
            let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? -1
            _ = try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)])
        }

        // The server's password changes, then the client's; the killed connection comes back
        // authenticated with the new one.
        _ = try await admin.customCommand(["CONFIG", "SET", "requirepass", "second-pass-2"])
        try await client.updateConnectionPassword("second-pass-2")
        let before = try await client.customCommand(["CLIENT", "ID"]).intValue
        try await kill()
        #expect(try await pingAfterKill(client) == "PONG")
        #expect(try await client.customCommand(["CLIENT", "ID"]).intValue != before)

        // A wrong password with immediate authentication is refused at once, and not kept.
        let wrong = await #expect(throws: GlideError.self) {
            try await client.updateConnectionPassword("not-the-password", immediateAuth: true)
        }
        #expect(wrong?.code == .authenticationFailed)
        #expect(wrong.map { !"\($0)".contains("not-the-password") } == true)
        try await kill()
        #expect(try await pingAfterKill(client) == "PONG")

        // The right one authenticates the open connection at once.
        _ = try await admin.customCommand(["CONFIG", "SET", "requirepass", "third-pass-3"])
        try await client.updateConnectionPassword("third-pass-3", immediateAuth: true)
        try await kill()
        #expect(try await pingAfterKill(client) == "PONG")

        // A password changed only on the server surfaces as a typed error on reconnection.
        _ = try await admin.customCommand(["CONFIG", "SET", "requirepass", "fourth-pass-4"])
        try await kill()
        var failure: GlideError?
        for _ in 0..<3 where failure?.code != .authenticationFailed {
            do { _ = try await client.ping() } catch { failure = error }
        }
        #expect(failure?.code == .authenticationFailed, "\(String(describing: failure))")
        #expect(failure.map { !"\($0)".contains("third-pass-3") } == true)

        let nothing = await #expect(throws: GlideError.self) { try await client.updateConnectionPassword(nil, immediateAuth: true) }
        #expect(nothing?.code == .configuration)
        await client.close()
        await admin.close()
    }

    @Test func rotationKeepsTheACLUserName() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let admin = try await server.client()
        _ = try await admin.customCommand(["ACL", "SETUSER", "rotor", "on", ">rotor-pass-1", "~*", "+@all"])
        let client = try await server.client { $0.credentials = ServerCredentials(password: "rotor-pass-1", username: "rotor") }
        _ = try await admin.customCommand(["ACL", "SETUSER", "rotor", ">rotor-pass-2"])
        try await client.updateConnectionPassword(nil)
        try await client.updateConnectionPassword("rotor-pass-2", immediateAuth: true)
        #expect(try await client.customCommand(["ACL", "WHOAMI"]).stringValue == "rotor")
        let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? -1
        _ = try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)])
        #expect(try await pingAfterKill(client) == "PONG")
        #expect(try await client.customCommand(["ACL", "WHOAMI"]).stringValue == "rotor")
        await client.close()
        await admin.close()
    }

    @Test func aClusterRotatesItsPasswordOnEveryNode() async throws {
        let cluster = try await TestCluster.start(primaries: 3, replicasPerPrimary: 0, password: "cluster-pass-1")
        defer { cluster.stop() }
        let client = try await cluster.client { $0.credentials = ServerCredentials(password: "cluster-pass-1") }
        for node in cluster.nodes {
            _ = try await cluster.command(node, ["CONFIG", "SET", "requirepass", "cluster-pass-2"])
        }
        let wrong = await #expect(throws: GlideError.self) {
            try await client.updateConnectionPassword("cluster-wrong", immediateAuth: true)
        }
        #expect(wrong?.code == .authenticationFailed)
        try await client.updateConnectionPassword("cluster-pass-2", immediateAuth: true)
        // Every node's connection is killed; each comes back with the new password.
        for node in cluster.nodes {
            _ = try await cluster.command(node, ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        }
        var written = 0
        for index in 0..<30 {
            for _ in 0..<3 {
                do {
                    try await client.set("rotated:\(index)", "v")
                    written += 1
                    break
                } catch {
                    guard error.code == .connectionClosed else { throw error }
                }
            }
        }
        #expect(written == 30)
        await client.close()
    }

    @Test func credentialsNeverAppearInConfigurationsOrDumps() {
        let credentials = ServerCredentials(password: "hunter2-secret", username: "app")
        let standalone = GlideClientConfiguration().with { $0.credentials = credentials }
        let cluster = GlideClusterClientConfiguration(addresses: [NodeAddress()]).with { $0.credentials = credentials }
        for text in [
            "\(standalone)", String(reflecting: standalone), dumped(standalone),
            "\(cluster)", String(reflecting: cluster), dumped(cluster), dumped(credentials),
        ] {
            #expect(!text.contains("hunter2-secret"))
        }
        #expect(dumped(credentials).contains("app"))
    }
}
