import Foundation
import Glide
import GlideTestSupport
import Testing

@testable import GlideClient

/// Cancellation against a real server, and credentials that stop working mid-life.
@Suite(.timeLimit(.minutes(5))) struct CancellationAndAuthTests {
    @Test func aCancelledBlockingPopIsUnblockedAndLosesNothing() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let pop = Task { try await client.blpop([key], timeout: 0) }
        try await Polling.waitUntil("BLPOP blocks", timeout: .seconds(10)) {
            try await admin.info([.clients]).contains("blocked_clients:1")
        }
        let cancelled = ContinuousClock.now
        pop.cancel()
        let result = await pop.result
        let elapsed = ContinuousClock.now - cancelled
        guard case .failure(let error as GlideError) = result else {
            Issue.record("expected a cancellation, got \(result)")
            return
        }
        #expect(error.code == .cancelled)
        print("cancelled BLPOP 0: the caller got .cancelled \(elapsed) after cancel()")
        // The server no longer holds the command: an element pushed now stays in the list.
        #expect(try await admin.info([.clients]).contains("blocked_clients:0"))
        // A command still blocked would have been served the element before RPUSH's reply.
        #expect(try await admin.rpush(key, ["after-cancel"]) == 1)
        #expect(try await admin.llen(key) == 1)
        // And the client's connection is free again.
        #expect(try await client.lpop(key) == "after-cancel")
        await client.close()
        await admin.close()
    }

    @Test func aCancelledRequestWaitingForAConnectionIsDroppedAndNeverRuns() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client { $0.requestTimeout = .seconds(10) }
        let key = SharedServer.uniqueKey()
        await server.kill()
        // Once the client knows the connection is gone, the write can only wait for the next one.
        try await Polling.waitUntil("the client saw the connection go", timeout: .seconds(10)) {
            !client.routing.all[0].isReady.load(ordering: .relaxed)
        }
        let write = Task { try await client.set(key, "never") }
        try await Polling.waitUntil("the write waits for a connection", timeout: .seconds(10), interval: .milliseconds(5)) {
            client.routing.all[0].inflightCount == 1
        }
        write.cancel()
        guard case .failure(let error as GlideError) = await write.result else {
            Issue.record("expected a cancellation")
            return
        }
        #expect(error.code == .cancelled)
        try await server.restart()
        try await Polling.waitUntil("the client is back", timeout: .seconds(10)) { (try? await client.ping()) == "PONG" }
        #expect(try await client.get(key) == nil)  // the write never ran
        await client.close()
    }

    @Test func aPasswordChangedOnTheServerFailsTheReconnectTypedWithoutARetryLoop() async throws {
        let server = try await TestServer.startValkey(["--requirepass", "first-secret"])
        defer { server.stop() }
        let client = try await server.client { $0.credentials = ServerCredentials(password: "first-secret") }
        let admin = try await server.client { $0.credentials = ServerCredentials(password: "first-secret") }
        func deniedAuthentications() async throws -> Int {
            let stats = try await admin.customCommand(["INFO", "stats"]).stringValue ?? ""
            if let line = stats.split(separator: "\r\n").first(where: { $0.hasPrefix("acl_access_denied_auth:") }) {
                return Int(line.split(separator: ":").last ?? "") ?? -1
            }
            // Redis 7.0 has no such counter; its ACL LOG counts refused authentications, in the
            // `count` of each entry whose `reason` is `auth`.
            let log = try await admin.customCommand(["ACL", "LOG", "128"]).arrayValue ?? []
            return log.reduce(0) { total, entry in
                let fields: [(String, RESPValue)] =
                    if case .map(let pairs) = entry {
                        pairs.map { ($0.key.stringValue ?? "", $0.value) }
                    } else {
                        stride(from: 0, to: (entry.arrayValue ?? []).count - 1, by: 2).map { index in
                            let list = entry.arrayValue ?? []
                            return (list[index].stringValue ?? "", list[index + 1])
                        }
                    }
                let reason = fields.first { $0.0 == "reason" }?.1.stringValue
                return total + (reason == "auth" ? fields.first { $0.0 == "count" }?.1.intValue ?? 0 : 0)
            }
        }
        let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? 0
        _ = try await admin.customCommand(["CONFIG", "SET", "requirepass", "second-secret"])
        let before = try await deniedAuthentications()
        _ = try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)])
        // The reconnection is refused: requests fail at once, typed, without the password.
        try await Polling.waitUntil("the reconnection is refused", timeout: .seconds(10)) {
            do {
                _ = try await client.ping()
                return false
            } catch let error as GlideError {
                return error.code == .authenticationFailed
            }
        }
        let started = ContinuousClock.now
        let refused = await #expect(throws: GlideError.self) { try await client.get("k") }
        #expect(refused?.code == .authenticationFailed)
        #expect(ContinuousClock.now - started < TestTiming.bound(.milliseconds(100)))
        #expect(refused.map { !"\($0)".contains("first-secret") } == true)
        // No loop: over the next 2 s nothing tries again in the background.
        try await Task.sleep(for: .seconds(2))
        let after = try await deniedAuthentications()
        print("changed password: \(after - before) refused authentication(s) in the 2 s after the kill")
        #expect(after - before == 1)
        // The new password: the client reconnects at once.
        try await client.updateConnectionPassword("second-secret")
        try await Polling.waitUntil("the client reconnects with the new password", timeout: .seconds(5)) {
            (try? await client.ping()) == "PONG"
        }
        await client.close()
        await admin.close()
    }
}
