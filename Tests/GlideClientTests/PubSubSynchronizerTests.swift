import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The pub/sub synchronizer on a manual loop over a memory pipe: the test plays the server and
/// moves the clock.
@Suite(.timeLimit(.minutes(2))) struct PubSubSynchronizerTests {
    typealias Synchronizer = PubSubSynchronizer<OneNode>

    /// Every subscription on the test's one connection.
    struct OneNode: PubSubPlacement {
        typealias Connection = NodeConnection<ManualEventLoop, MemoryConnector>
        let connection: Connection

        func anyNode() -> Connection? { connection }
        func isUsable(_ connection: Connection) -> Bool { true }
        func isMember(_ connection: Connection) -> Bool { true }
        func owner(ofSlot slot: UInt16) -> Connection? { nil }
        func retry(after error: GlideError, from connection: Connection) -> PubSubRetry { .never }
        var answersClientInfo: Bool { true }
    }

    /// A confirmation push for `channel`, the connection then having `count` subscriptions.
    func confirmation(_ kind: String, _ channel: String, _ count: Int) -> String {
        ">3\r\n$\(kind.utf8.count)\r\n\(kind)\r\n$\(channel.utf8.count)\r\n\(channel)\r\n:\(count)\r\n"
    }

    /// A `CLIENT INFO` reply with these counts.
    func clientInfo(sub: Int, psub: Int) -> String {
        let line = "id=7 addr=127.0.0.1:5000 name= db=0 sub=\(sub) psub=\(psub) ssub=0 multi=-1 cmd=client|info\n"
        return "=\(line.utf8.count + 4)\r\ntxt:\(line)\r\n"
    }

    @Test func thePeriodicCheckFindsADroppedSubscriptionAndMakesItAgain() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let synchronizer = Synchronizer(
            loop: harness.loop, inbox: PubSubInbox(nil), placement: OneNode(connection: harness.connection),
            requestTimeout: .seconds(1), checkInterval: .seconds(3))
        let subscribing = Task { try await synchronizer.subscribe(["a"], kind: .exact) }
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["SUBSCRIBE", "a"]])
        try server.send(confirmation("subscribe", "a", 1))
        // The actor runs on the loop: the test drives it while it finishes.
        try await harness.settle()
        try await subscribing.value
        let before = GlideStatistics.pubsubResubscriptions.load(ordering: .relaxed)

        // In step: the check asks, and nothing is sent again.
        harness.loop.advance(by: .seconds(3))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["CLIENT", "INFO"]])
        try server.send(clientInfo(sub: 1, psub: 0))
        try await harness.settle()
        #expect(server.receiveAll().readableBytes == 0)

        // The server dropped it: the next check subscribes again, and counts it.
        harness.loop.advance(by: .seconds(3))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["CLIENT", "INFO"]])
        try server.send(clientInfo(sub: 0, psub: 0))
        try await harness.settle()
        #expect(commands(server.receiveAll()) == [["SUBSCRIBE", "a"]])
        try server.send(confirmation("subscribe", "a", 1))
        try await harness.settle()
        let state = Task { await synchronizer.state() }
        try await harness.settle()
        #expect(await state.value.actual.exact == ["a"])
        #expect(GlideStatistics.pubsubResubscriptions.load(ordering: .relaxed) > before)

        let closing = Task { await synchronizer.close() }
        try await harness.settle()
        await closing.value
    }

    @Test func clientInfoCountsAreReadFromTheLine() {
        let counts = Synchronizer.subscriptionCounts("id=3 addr=x fd=8 name= db=0 sub=2 psub=1 ssub=4 multi=-1\n")
        #expect(counts.exact == 2 && counts.pattern == 1 && counts.sharded == 4)
    }
}
