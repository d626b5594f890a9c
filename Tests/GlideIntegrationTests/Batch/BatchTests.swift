import Glide
import GlideTestSupport
import GlideTransport
import Testing

@testable import GlideClient

/// `Batch` on a standalone server: pipelines and transactions, typed results, errors both ways.
@Suite(.timeLimit(.minutes(5))) struct BatchTests {
    /// A loop of its own for the bulk pipeline, so its 2,001 commands don't delay other tests' replies.
    static let loop = EpollEventLoop(name: "batch-tests")

    @Test func aPipelineOfAThousandCommandsComesBackInOrderWithTypedResults() async throws {
        // A bulk request's deadline is the whole batch's: not the 250 ms default on a busy machine.
        let client = try await SharedServer.valkey().client {
            $0.eventLoop = Self.loop
            $0.requestTimeout = .seconds(10)
        }
        let prefix = SharedServer.uniqueKey()
        var batch = Batch(isAtomic: false)
        for index in 0..<1_000 { batch.add(SET("\(prefix):\(index)", "v\(index)")) }
        let counter = batch.add(INCR("\(prefix):counter"))
        let reads = (0..<1_000).map { batch.add(GET("\(prefix):\($0)")) }
        #expect(batch.count == 2_001)
        let results = try #require(try await client.exec(batch))
        #expect(results.count == 2_001)
        #expect(try results[counter] == 1)
        for (index, read) in reads.enumerated() { #expect(try results[read]?.string == "v\(index)") }
        #expect(results.values.prefix(2) == [.simpleString("OK"), .simpleString("OK")])
        // Run again: the batch is reusable.
        let again = try #require(try await client.exec(batch))
        #expect(try again[counter] == 2)
        await client.close()
    }

    @Test func anAtomicBatchRunsAsOneTransaction() async throws {
        let server = try await SharedServer.valkey()
        let client = try await server.client()
        let key = SharedServer.uniqueKey()
        var batch = Batch(isAtomic: true)
        batch.add(SET(key, "10"))
        let incremented = batch.add(INCRBY(key, increment: 5))
        let read = batch.add(GET(key))
        let results = try #require(try await client.exec(batch))
        #expect(try results[incremented] == 15)
        #expect(try results[read]?.string == "15")
        // A command the server refuses to queue aborts it whole, with that command's error.
        var broken = Batch(isAtomic: true)
        broken.add(SET(key, "20"))
        broken.customCommand(["NO-SUCH-COMMAND"])
        let error = await #expect(throws: GlideError.self) { try await client.exec(broken) }
        #expect(error?.message.contains("transaction aborted") == true)
        #expect(try await client.get(key) == "15")
        await client.close()
    }

    @Test func raiseOnErrorThrowsTheFirstFailureOrLeavesItInItsSlot() async throws {
        let client = try await SharedServer.valkey().client()
        let key = SharedServer.uniqueKey()
        for atomic in [false, true] {
            var batch = Batch(isAtomic: atomic)
            batch.add(SET(key, "text"))
            let failing = batch.add(INCR(key))
            let after = batch.add(GET(key))
            let thrown = await #expect(throws: GlideError.self) { try await client.exec(batch) }
            #expect(thrown?.code == .server && thrown?.message.contains("not an integer") == true)
            let results = try #require(try await client.exec(batch, raiseOnError: false))
            let slotError = #expect(throws: GlideError.self) { try results[failing] }
            #expect(slotError?.code == .server)
            #expect(try results[after]?.string == "text", "the other commands ran (atomic: \(atomic))")
            #expect(results.values[1].isError)
        }
        await client.close()
    }

    @Test func batchesAreValuesAndRefusalsComeBeforeSending() async throws {
        var base = Batch(isAtomic: false)
        base.add(PING())
        var copy = base
        copy.add(PING())
        #expect(base.count == 1 && copy.count == 2)
        let chained = Batch(isAtomic: true).adding(SET("a", "1")).adding(GET("a"))
        #expect(chained.count == 2)

        let client = try await SharedServer.valkey().client()
        var refused = Batch(isAtomic: false)
        refused.add(SET("k", "v"))
        refused.customCommand(["SUBSCRIBE", "news"])
        let error = await #expect(throws: GlideError.self) { try await client.exec(refused) }
        #expect(error?.code == .configuration)
        #expect(try await client.exec(Batch(isAtomic: false))?.count == 0)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func aPerRequestTimeoutReplacesTheRequestTimeoutBothWays() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let client = try await server.client()  // requestTimeout 250 ms
        let admin = try await server.client()
        let key = SharedServer.uniqueKey()
        // Writes wait 800 ms on the server.
        _ = try await admin.customCommand(["CLIENT", "PAUSE", "800", "WRITE"])
        let short = await #expect(throws: GlideError.self) {
            try await client.customCommand(["SET", key, "1"], timeout: .milliseconds(100))
        }
        #expect(short?.code == .timeout)
        // Longer than the client's 250 ms: it waits the pause out.
        #expect(try await client.execute(SET(key, "2"), timeout: .seconds(5)) == .simpleString("OK"))
        #expect(try await client.get(key) == "2", "the timed-out SET ran first, in order, and this one after it")
        await client.close()
        await admin.close()
    }

    @Test func aBatchTimeoutOverridesTheRequestTimeoutAndLeavesTheClientUsable() async throws {
        let server = try await TestServer.startValkey(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let client = try await server.client { $0.requestTimeout = .seconds(5) }
        var slow = Batch(isAtomic: false)
        slow.customCommand(["DEBUG", "SLEEP", "0.5"])
        slow.add(PING())
        let error = await #expect(throws: GlideError.self) {
            try await client.exec(slow, options: BatchOptions(timeout: .milliseconds(100)))
        }
        #expect(error?.code == .timeout)
        // The late replies are discarded, never handed to the next caller.
        #expect(try await client.set("after", "ok"))
        #expect(try await client.get("after") == "ok")
        let results = try #require(try await client.exec(slow, options: BatchOptions(timeout: .seconds(3))))
        #expect(results.count == 2)
        await client.close()
    }
}
