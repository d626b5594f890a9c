import GlideTransport
import Synchronization
import Testing

@testable import GlideClient
@testable import GlideConnection

/// A connection on another loop than its observer (a cluster client's connection spread over
/// several loops): the observer learns each event on its own loop, and the waiters the event
/// concerns resume only after it did, there.
@Suite(.timeLimit(.minutes(2))) struct SpreadConnectionTests {
    /// Records each event with where it arrived and whether any waiter had resumed by then.
    final class RecordingObserver: ConnectionObserver, @unchecked Sendable {
        struct Record {
            let event: String
            let onObserverLoop: Bool
            let onConnectionLoop: Bool
            let waitersResumed: Bool
        }

        // Read and written under `records`' lock only.
        let records = Lock<[Record]>([])
        let observerLoop: ManualEventLoop
        let connectionLoop: ManualEventLoop
        /// The loop the waiting callers run on: a resumed waiter queues its task's job there.
        let callers: ManualEventLoop

        init(observerLoop: ManualEventLoop, connectionLoop: ManualEventLoop, callers: ManualEventLoop) {
            self.observerLoop = observerLoop
            self.connectionLoop = connectionLoop
            self.callers = callers
        }

        func connectionChanged(_ id: ObjectIdentifier, _ event: ConnectionEvent) {
            let name =
                switch event {
                case .ready: "ready"
                case .lost: "lost"
                case .attemptFailed: "attemptFailed"
                }
            let record = Record(
                event: name, onObserverLoop: observerLoop.inEventLoop, onConnectionLoop: connectionLoop.inEventLoop,
                waitersResumed: callers.hasPendingTasks)
            records.withLock { $0.append(record) }
        }

        func unblockRequested(_ id: ObjectIdentifier, clientID: Int, requestID: UInt64, generation: Int) {}
    }

    @Test func eventsReachTheObserverOnItsLoopBeforeTheirWaitersResume() async throws {
        let home = ManualEventLoop()
        let other = ManualEventLoop()
        let callers = ManualEventLoop()
        let observer = RecordingObserver(observerLoop: home, connectionLoop: other, callers: callers)
        let (connection, connector) = Self.connection(on: other, reportingTo: observer, on: home)
        defer {
            connection.close()
            other.run()
        }
        let (connected, server) = try await Self.connectAndHandshake(connection, connector, loop: other, callers: callers)
        // The connection is ready on its loop; its observer and its waiter are not told yet.
        let ready = connection.isReady.load(ordering: .relaxed)
        #expect(ready)
        #expect(observer.records.withLock { $0.isEmpty })
        #expect(!callers.hasPendingTasks)
        home.run()
        #expect(callers.hasPendingTasks)
        callers.run()
        guard case .success = await connected.value else {
            Issue.record("the connection did not become ready")
            return
        }

        // Two requests in flight when the server goes away: they fail after the observer heard.
        let deadline = other.now() + .seconds(60)
        let requests = (0..<2).map { index in
            Task(executorPreference: callers) {
                await connection.send(deadline: deadline) { $0.writeRESPCommand(["GET", "key\(index)"]) }
            }
        }
        callers.run()
        other.run()
        server.close()
        other.run()
        #expect(observer.records.withLock { $0.count } == 1)
        #expect(!callers.hasPendingTasks)
        home.run()
        callers.run()
        for request in requests {
            guard case .failure(let error) = await request.value else {
                Issue.record("expected the lost connection to fail the request")
                continue
            }
            #expect(error.code == .connectionClosed)
        }

        let records = observer.records.withLock { $0 }
        #expect(records.map(\.event) == ["ready", "lost"])
        #expect(records.allSatisfy { $0.onObserverLoop && !$0.onConnectionLoop })
        #expect(records.allSatisfy { !$0.waitersResumed })
    }

    @Test func aConnectionOnItsObserversLoopReportsAtOnce() async throws {
        let home = ManualEventLoop()
        let callers = ManualEventLoop()
        let observer = RecordingObserver(observerLoop: home, connectionLoop: home, callers: callers)
        let (connection, connector) = Self.connection(on: home, reportingTo: observer, on: home)
        defer {
            connection.close()
            home.run()
        }
        let (connected, _) = try await Self.connectAndHandshake(connection, connector, loop: home, callers: callers)
        // Told in the same turn that read the handshake's last reply, before the waiter resumed.
        #expect(observer.records.withLock { $0.map(\.event) } == ["ready"])
        #expect(observer.records.withLock { $0.allSatisfy { $0.onObserverLoop && !$0.waitersResumed } })
        callers.run()
        guard case .success = await connected.value else {
            Issue.record("the connection did not become ready")
            return
        }
    }

    /// A supervised connection on `loop` over a memory pipe, whose `observer` runs on `observerLoop`.
    static func connection(
        on loop: ManualEventLoop, reportingTo observer: RecordingObserver, on observerLoop: ManualEventLoop
    ) -> (MemoryConnection, MemoryConnector) {
        let connector = MemoryConnector()
        let connection = MemoryConnection(
            loop: loop, connector: connector,
            handshake: HandshakeConfiguration(protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0),
            inflightLimit: 100, connectionTimeout: .seconds(2),
            policy: ConnectionPolicy(supervised: true, waitsThroughFailedAttempts: true), observer: observer,
            observerLoop: observerLoop)
        return (connection, connector)
    }

    /// A caller on `callers` (a loop the test runs) waits for `connection`; the server answers its
    /// attempt's handshake, and `loop` reads the answer. The caller's task and the server's end.
    static func connectAndHandshake(
        _ connection: MemoryConnection, _ connector: MemoryConnector, loop: ManualEventLoop, callers: ManualEventLoop
    ) async throws -> (Task<Result<Void, GlideError>, Never>, MemoryByteStream) {
        let connected = Task(executorPreference: callers) { await connection.connect() }
        callers.run()
        let server = try #require(await nextServer(connector, driving: loop, callers: callers))
        try server.send("%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n+OK\r\n+OK\r\n")
        loop.run()
        return (connected, server)
    }

    /// Runs `loop` (where the attempt runs) and `callers` until the connector made an attempt.
    static func nextServer(_ connector: MemoryConnector, driving loop: ManualEventLoop, callers: ManualEventLoop) async
        -> MemoryByteStream?
    {
        for _ in 0..<500 {
            loop.run()
            callers.run()
            if let next = connector.servers.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                loop.run()
                return next
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }
}
