import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct TransactionTests {
    @Test func chainsRunsAtomicallyAndIsReusable() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        let transaction = Transaction().set(key, "1").incr(key).get(key)
        transaction.incrBy(key, 10)  // statement form works too
        #expect(transaction.count == 4)
        let first = try await client.exec(transaction)
        #expect(first == [.simpleString("OK"), .integer(2), .bulkString("2"), .integer(12)])
        let second = try await client.exec(transaction)
        #expect(second == first)
        await client.close()
    }

    @Test func watchedKeyChangeAbortsWithNilOnADedicatedConnection() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let other = try await server.client()
        let key = SharedServer.uniqueKey()
        try await client.set(key, "0")
        // WATCH on the shared connection would be undone by any other caller's EXEC: refused.
        let shared = await #expect(throws: GlideError.self) { try await client.watch([key]) }
        #expect(shared?.code == .configuration && shared?.message.contains("withDedicatedConnection") == true)

        let aborted = try await client.withDedicatedConnection { connection in
            try await connection.watch([key])
            try await other.set(key, "changed")
            var update = Batch(isAtomic: true)
            update.add(SET(key, "mine"))
            return try await connection.exec(update)
        }
        #expect(aborted == nil)
        #expect(try await client.get(key) == "changed")
        // Without interference the same transaction commits; MULTI/EXEC by hand work here too.
        let committed = try await client.withDedicatedConnection { connection in
            try await connection.watch([key])
            var update = Batch(isAtomic: true)
            update.add(SET(key, "mine"))
            let results = try await connection.exec(update)
            _ = try await connection.customCommand(["MULTI"])
            _ = try await connection.customCommand(["INCR", "\(key):n"])
            return (results?.count, try await connection.customCommand(["EXEC"]))
        }
        #expect(committed.0 == 1 && committed.1 == .array([.integer(1)]))
        #expect(try await client.get(key) == "mine")
        await client.close()
        await other.close()
    }

    @Test func aDedicatedConnectionNeverReconnectsAndIsClosedAfterItsClosure() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        let (id, lost) = try await client.withDedicatedConnection { connection in
            let id = try await connection.customCommand(["CLIENT", "ID"]).intValue ?? -1
            try await connection.watch([key])
            #expect(try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)]).intValue == 1)
            // A silent reconnection would drop the WATCH: the connection stays lost instead.
            let error = await #expect(throws: GlideError.self) { try await connection.get(key) }
            return (id, error)
        }
        #expect(lost?.code == .connectionClosed || lost?.code == .connectionFailed)
        let clients = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
        #expect(!clients.contains("id=\(id) "))
        // A refused command says so; the shared connection is untouched throughout.
        let refused = try await client.withDedicatedConnection { connection in
            await #expect(throws: GlideError.self) { try await connection.customCommand(["SUBSCRIBE", "x"]) }
        }
        #expect(refused?.code == .configuration)
        #expect(try await client.ping() == "PONG")
        await client.close()
        await admin.close()
    }

    @Test func queuingErrorAbortsWithTheCommandsError() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        let transaction = Transaction().set(key, "1").customCommand(["NO-SUCH-COMMAND"]).get(key)
        let error = await #expect(throws: GlideError.self) { try await client.exec(transaction) }
        #expect(error?.code == .server)
        #expect(error?.message.contains("transaction aborted") == true)
        #expect(error?.message.lowercased().contains("unknown command") == true)
        #expect(try await client.get(key) == nil)  // nothing ran
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func runtimeErrorsRaiseOrStayInTheResults() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        let transaction = Transaction().set(key, "text").incr(key).set(key + ":after", "ran")
        let error = await #expect(throws: GlideError.self) { try await client.exec(transaction) }
        #expect(error?.message.contains("not an integer") == true)
        let results = try await client.exec(transaction, raiseOnError: false)
        #expect(results?.count == 3)
        #expect(results?[1].isError == true)
        #expect(try await client.get(key + ":after") == "ran")
        await client.close()
    }

    @Test func emptyTransactionReturnsNoResults() async throws {
        let client = try await SharedServer.valkey().client()
        #expect(try await client.exec(Transaction()) == [])
        await client.close()
    }
}

@Suite(.timeLimit(.minutes(5))) struct TransactionGuardTests {
    @Test func replyStreamCommandsInATransactionAreRefusedBeforeSending() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        let transaction = Transaction().set(key, "x").customCommand(["SUBSCRIBE", "news"])
        let error = await #expect(throws: GlideError.self) { try await client.exec(transaction) }
        #expect(error?.code == .configuration)
        #expect(try await client.get(key) == nil)  // nothing was sent
        // The typed commands and an empty custom command are refused the same way.
        for refused in [
            Transaction().set(key, "x").add(SUBSCRIBE(["news"])), Transaction().set(key, "x").add(RESET()),
            Transaction().set(key, "x").add(CLIENT.REPLY(action: .off)), Transaction().set(key, "x").customCommand([]),
        ] {
            let error = await #expect(throws: GlideError.self) { try await client.exec(refused) }
            #expect(error?.code == .configuration)
        }
        #expect(try await client.get(key) == nil)
        await client.close()
    }

    @Test func selectThroughCustomCommandOrATransactionSurvivesReconnection() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()
        let admin = try await server.client()
        func reconnectAndReadDatabase() async throws -> String {
            let id = try await client.customCommand(["CLIENT", "ID"]).intValue ?? 0
            _ = try await admin.customCommand(["CLIENT", "KILL", "ID", String(id)])
            // The supervisor reconnects at once: the server lists the client's new connection
            // beside the admin's, and not the killed one.
            try await Polling.waitUntil("the client connected again") {
                let list = try await admin.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
                let ids = list.split(separator: "\n").compactMap { $0.split(separator: " ").first { $0.hasPrefix("id=") } }
                return ids.count == 2 && !ids.contains("id=\(id)")
            }
            return try await client.customCommand(["CLIENT", "INFO"]).stringValue ?? ""
        }
        _ = try await client.customCommand(["SELECT", "4"])
        #expect(try await reconnectAndReadDatabase().contains("db=4"))
        _ = try await client.exec(Transaction().select(6).ping())
        #expect(try await reconnectAndReadDatabase().contains("db=6"))
        // Typed SELECT, run directly or queued with add, is remembered the same way.
        _ = try await client.execute(SELECT(index: 2))
        #expect(try await reconnectAndReadDatabase().contains("db=2"))
        _ = try await client.exec(Transaction().add(SELECT(index: 7)))
        #expect(try await reconnectAndReadDatabase().contains("db=7"))
        await client.close()
        await admin.close()
    }
}
