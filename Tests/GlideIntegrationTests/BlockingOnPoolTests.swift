import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

@testable import GlideClient

/// Blocking commands wait on a connection borrowed from the node's pool, so the shared
/// connection keeps serving everyone else: on both clients, typed and custom, after a `SELECT`,
/// and when cancelled. With `runsBlockingCommands` off they go on the shared connection, as GLIDE
/// sends them, and hold up what comes behind.
@Suite(.timeLimit(.minutes(2))) struct BlockingOnPoolTests {
    /// The server's id of the connection named `name` that waits in `BLPOP`, if one does.
    static func blockedID(_ clients: String, name: String) -> Int? {
        clients.split(separator: "\n")
            .first { $0.contains(" name=\(name) ") && $0.contains("cmd=blpop") }
            .flatMap { Int($0.split(separator: " ").first?.dropFirst(3) ?? "") }
    }

    /// Waits (up to 10 s) until a connection named `name` waits in `BLPOP` in `clients()`'s
    /// list, and returns its id.
    static func waitForBlocked(name: String, _ clients: () async throws -> String) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            if let id = blockedID(try await clients(), name: name) { return id }
            try #require(ContinuousClock.now < deadline, "the server never held a BLPOP of \(name)")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func uniqueName() -> String { "blocking-\(UUID().uuidString.prefix(8))" }

    @Test func aBlockingPopWaitsOnAPooledConnectionWhileTheSharedOneServes() async throws {
        let server = try await SharedServer.valkey()
        let name = Self.uniqueName()
        let client = try await server.client {
            $0.clientName = name
            $0.requestTimeout = .milliseconds(500)
        }
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let shared = try await client.customCommand(["CLIENT", "ID"]).intValue
        let pop = Task { try await client.blpop([key], timeout: 10) }
        let blocked = try await Self.waitForBlocked(name: name) { try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? "" }
        #expect(blocked != shared)
        // Each of these would wait out the 10 s BLPOP, and time out, on a shared connection.
        for index in 0..<20 {
            try await client.set(key + ":other", String(index))
            #expect(try await client.get(key + ":other") == String(index))
        }
        try await admin.rpush(key, ["served"])
        let popped = try await pop.value
        #expect(popped?.key == key && popped?.element == "served")
        // Given back, the connection is lent to the next blocking command.
        let next = Task { try await client.customCommand(["BLPOP", key, "10"]) }
        let again = try await Self.waitForBlocked(name: name) { try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? "" }
        #expect(again == blocked)
        try await admin.rpush(key, ["again"])
        #expect(try await next.value == .array([.bulkString(Bytes(key)), .bulkString("again")]))
        #expect(client.core.lendsConnection(toBlocking: "BLPOP"))
        #expect(!client.core.lendsConnection(toBlocking: "WAIT"), "WAIT waits for its own connection's writes")
        await client.close()
        await admin.close()
    }

    @Test func onTheSharedConnectionABlockingPopHoldsUpTheRequestsBehindIt() async throws {
        let server = try await SharedServer.valkey()
        let name = Self.uniqueName()
        let client = try await server.client {
            $0.clientName = name
            $0.dedicatedConnections.runsBlockingCommands = false
        }
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let shared = try await client.customCommand(["CLIENT", "ID"]).intValue
        let started = ContinuousClock.now
        let pop = Task { try await client.blpop([key], timeout: 1) }
        let blocked = try await Self.waitForBlocked(name: name) { try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? "" }
        #expect(blocked == shared)
        // The server reads the GET only after the BLPOP's second is over.
        _ = try await client.execute(GET(key + ":other"), timeout: .seconds(10))
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(try await pop.value == nil)
        await client.close()
        await admin.close()
    }

    @Test func aCancelledPooledPopIsUnblockedAndItsConnectionLentAgain() async throws {
        let server = try await SharedServer.valkey()
        let name = Self.uniqueName()
        let client = try await server.client { $0.clientName = name }
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let pop = Task { try await client.blpop([key], timeout: 0) }
        let blocked = try await Self.waitForBlocked(name: name) { try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? "" }
        pop.cancel()
        let result = await pop.result
        guard case .failure(let error as GlideError) = result else {
            Issue.record("expected a cancellation, got \(result)")
            return
        }
        #expect(error.code == .cancelled)
        // Unblocked on the server (`CLIENT UNBLOCK`), not dropped: the element stays in the list,
        // and the same connection waits for the next pop.
        #expect(try await admin.rpush(key, ["kept"]) == 1)
        #expect(try await admin.llen(key) == 1)
        let next = Task { try await client.blpop([key + ":empty"], timeout: 10) }
        let again = try await Self.waitForBlocked(name: name) { try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? "" }
        #expect(again == blocked)
        try await admin.rpush(key + ":empty", ["x"])
        #expect(try await next.value?.element == "x")
        #expect(try await client.lpop(key) == "kept")
        await client.close()
        await admin.close()
    }

    @Test func aBlockingPopWaitsInTheDatabaseTheClientSelected() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let key = SharedServer.uniqueKey()
        // A pooled connection is opened in database 0 and kept idle.
        try await client.rpush(key, ["zero"])
        #expect(try await client.blpop([key], timeout: 1)?.element == "zero")
        try await client.select(4)
        try await client.rpush(key, ["four"])
        // The idle connection is in database 0, where the list is empty: it isn't lent.
        #expect(try await client.blpop([key], timeout: 1)?.element == "four")
        // Nor is one left in database 4 after the client goes back to 0.
        try await client.rpush(key, ["four-again"])
        try await client.select(0)
        #expect(try await client.blpop([key], timeout: 0.2) == nil)
        try await client.select(4)
        #expect(try await client.lpop(key) == "four-again")
        await client.close()
    }

    @Test func aClusterBlockingPopWaitsOnAPooledConnectionToItsPrimary() async throws {
        let cluster = try await SharedCluster.valkey()
        let name = Self.uniqueName()
        let client = try await cluster.client { $0.clientName = name }
        let tag = "{\(SharedServer.uniqueKey())}"
        let node = try await cluster.primary(forSlot: HashSlot.of(tag))
        let shared = try await client.customCommand(["CLIENT", "ID"], route: .slotKey(BulkString(tag), .primary)).singleValue?.intValue
        for custom in [false, true] {
            let pop = Task {
                custom
                    ? try await client.customCommand(["BLPOP", "\(tag):queue", "10"]).singleValue
                    : try await client.blpop(["\(tag):queue"], timeout: 10).map {
                        RESPValue.array([.bulkString(Bytes($0.key)), .bulkString(Bytes($0.element))])
                    }
            }
            let blocked = try await Self.waitForBlocked(name: name) {
                try await cluster.command(node, ["CLIENT", "LIST"]).stringValue ?? ""
            }
            #expect(blocked != shared)
            // Keys of the same slot, on the node's shared connection, go meanwhile.
            for index in 0..<10 {
                try await client.set("\(tag):other", String(index))
                #expect(try await client.get("\(tag):other") == String(index))
            }
            _ = try await cluster.command(node, ["RPUSH", "\(tag):queue", "served"])
            #expect(try await pop.value == .array([.bulkString(Bytes("\(tag):queue")), .bulkString("served")]))
        }
        await client.close()
    }
}
