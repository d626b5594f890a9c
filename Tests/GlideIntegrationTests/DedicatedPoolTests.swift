import Foundation
import Glide
import GlideTestSupport
import Synchronization
import Testing

/// `withDedicatedConnection` borrows from a pool per node: connections are reused clean, never
/// shared, closed when their state can't be cleaned, and bounded.
@Suite(.timeLimit(.minutes(2))) struct DedicatedPoolTests {
    static func clientID(_ connection: DedicatedConnection) async throws -> Int {
        try await connection.customCommand(["CLIENT", "ID"]).intValue ?? -1
    }

    @Test func aConnectionIsReusedAndAWatchLeftBehindDoesNotReachTheNextBorrower() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let other = try await server.client()
        let key = SharedServer.uniqueKey()
        // The first borrower watches the key and returns without EXEC.
        let first = try await client.withDedicatedConnection { connection in
            try await connection.watch([key])
            return try await Self.clientID(connection)
        }
        try await other.set(key, "changed")
        // The next borrower gets the same connection, and its transaction is not aborted by the
        // first one's watch: the pool unwatched on the way back.
        let (second, results) = try await client.withDedicatedConnection { connection in
            var update = Batch(isAtomic: true)
            update.add(SET(key, "mine"))
            return (try await Self.clientID(connection), try await connection.exec(update))
        }
        #expect(second == first)
        #expect(results?.count == 1)
        #expect(try await client.get(key) == "mine")
        // A MULTI left open is discarded the same way.
        _ = try await client.withDedicatedConnection { connection in try await connection.customCommand(["MULTI"]) }
        let after = try await client.withDedicatedConnection { connection in
            (try await Self.clientID(connection), try await connection.customCommand(["GET", key]))
        }
        #expect(after.0 == first)
        #expect(after.1 == .bulkString("mine"))
        await client.close()
        await other.close()
    }

    @Test func aConnectionWhoseStateChangedIsNeverLentAgain() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let admin = try await server.client()
        let selected = try await client.withDedicatedConnection { connection in
            _ = try await connection.customCommand(["SELECT", "3"])
            return try await Self.clientID(connection)
        }
        let next = try await client.withDedicatedConnection { connection in
            (try await Self.clientID(connection), try await connection.customCommand(["CLIENT", "INFO"]).stringValue ?? "")
        }
        #expect(next.0 != selected)
        #expect(next.1.contains(" db=0 "), "\(next.1)")
        let clients = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        #expect(!clients.contains("id=\(selected) "), "the selected connection was closed")
        await client.close()
        await admin.close()
    }

    @Test func aHandleKeptPastItsClosureIsRefused() async throws {
        let client = try await SharedServer.valkey().client()
        let escaped = Mutex<DedicatedConnection?>(nil)
        try await client.withDedicatedConnection { connection in escaped.withLock { $0 = connection } }
        let handle = try #require(escaped.withLock { $0 })
        let refused = await #expect(throws: GlideError.self) { try await handle.get("any") }
        #expect(refused?.code == .configuration)
        #expect(refused?.message.contains("went back to its pool") == true)
        await client.close()
    }

    @Test func atTheLimitABorrowerWaitsAndTimesOutWithAReason() async throws {
        let client = try await SharedServer.valkey().client {
            $0.dedicatedConnections = DedicatedPoolConfiguration(maximumConnections: 2, acquireTimeout: .milliseconds(300))
            // Generous: the holders' CLIENT ID must not time out while the whole suite runs beside.
            $0.requestTimeout = .seconds(5)
        }
        let releases = (0..<2).map { _ in AsyncStream<Void>.makeStream() }
        let (holding, held) = AsyncStream<Int>.makeStream()
        // Two borrowers hold both connections until the third has given up. Opening a connection
        // may outlast the 300 ms wait on a loaded machine: a holder then asks again. Any other
        // failure ends the wait for the holders, so the test fails instead of hanging.
        let holders = releases.map { (released, _) in
            Task {
                for attempt in 1... {
                    do {
                        return try await client.withDedicatedConnection { connection in
                            held.yield(try await Self.clientID(connection))
                            for await _ in released { break }
                        }
                    } catch let error as GlideError where error.code == .timeout && attempt < 20 {
                        continue
                    } catch {
                        held.finish()
                        throw error
                    }
                }
            }
        }
        var ids: Set<Int> = []
        for await id in holding {
            ids.insert(id)
            if ids.count == 2 { break }
        }
        try #require(ids.count == 2, "the holders did not both get a connection")
        let waited = await #expect(throws: GlideError.self) {
            try await client.withDedicatedConnection { _ in }
        }
        #expect(waited?.code == .timeout)
        #expect(waited?.message.contains("2 of at most 2 lent") == true, "\(String(describing: waited))")
        for (_, release) in releases { release.finish() }
        for holder in holders { try await holder.value }
        // Given back, a connection is lent at once.
        let reused = try await client.withDedicatedConnection { try await Self.clientID($0) }
        #expect(ids.contains(reused))
        await client.close()
    }

    @Test func aKilledConnectionIsNeverLentAgain() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let admin = try await server.client()
        let killed = try await client.withDedicatedConnection { try await Self.clientID($0) }
        #expect(try await admin.customCommand(["CLIENT", "KILL", "ID", String(killed)]).intValue == 1)
        // The kill reaches the idle connection on its own time: a borrower may meet it lost
        // (`.connectionClosed`) until then, and never meets it working.
        var next: Int?
        var lostOnes = 0
        while next == nil {
            do {
                next = try await client.withDedicatedConnection { try await Self.clientID($0) }
            } catch let error as GlideError where error.code == .connectionClosed {
                lostOnes += 1
                try #require(lostOnes < 3, "\(error)")
            }
        }
        #expect(next != killed)
        await client.close()
        await admin.close()
    }

    @Test func closingTheClientClosesItsPooledConnections() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let admin = try await server.client()
        let id = try await client.withDedicatedConnection { try await Self.clientID($0) }
        await client.close()
        try await Polling.waitUntil("the pooled connection is closed", timeout: .seconds(5), interval: .milliseconds(10)) {
            let clients = (try? await admin.customCommand(["CLIENT", "LIST"]).stringValue) ?? ""
            return !clients.contains("id=\(id) ")
        }
        let closed = await #expect(throws: GlideError.self) { try await client.withDedicatedConnection { _ in } }
        #expect(closed?.code == .clientClosed)
        await admin.close()
    }

    @Test func aClusterKeysNodeHasAPoolOfItsOwn() async throws {
        let client = try await SharedCluster.valkey().client()
        let key = SharedServer.uniqueKey()
        let first = try await client.withDedicatedConnection(forKey: key) { connection in
            (connection.address, try await Self.clientID(connection))
        }
        let second = try await client.withDedicatedConnection(forKey: key) { connection in
            (connection.address, try await Self.clientID(connection))
        }
        #expect(first.0 == second.0)
        #expect(first.1 == second.1, "the node's pooled connection was lent again")
        // A key of another node borrows from that node's pool (of three primaries, one of a few
        // keys is elsewhere).
        var other: NodeAddress?
        for index in 0..<50 where other == nil {
            let address = try await client.withDedicatedConnection(forKey: "\(key):\(index)") { $0.address }
            if address != first.0 { other = address }
        }
        #expect(other != nil)
        await client.close()
    }
}
