import GlideBuffers
import GlideConnection
import GlideRESPCodec
import GlideTransport
import Synchronization
import Testing

@testable import GlideClient

/// `ReadCoalescer` with no sockets: who joins a request in flight, and who sends their own.
@Suite struct ReadCoalescerTests {
    /// A connection as the coalescer sees it: how many batches it has written.
    final class FakeConnection: Sendable {
        let written = Atomic<Int>(0)
    }

    /// A request whose reply the test gives when it wants, counting the requests sent.
    final class Gate: Sendable {
        let sent = Atomic<Int>(0)
        let waiting = Lock<[CheckedContinuation<Result<RESPToken, GlideError>, Never>]>([])

        func send() async -> Result<RESPToken, GlideError> {
            sent.add(1, ordering: .relaxed)
            return await withCheckedContinuation { continuation in waiting.withLock { $0.append(continuation) } }
        }

        func reply(_ outcome: Result<RESPToken, GlideError>) {
            for continuation in waiting.withLock({ state in
                defer { state = [] }
                return state
            }) { continuation.resume(returning: outcome) }
        }

        func waitForSends(_ count: Int) async {
            while waiting.withLock({ $0.count }) < count { await Task.yield() }
        }
    }

    static func token(_ text: String) -> RESPToken {
        var decoder = RESPDecoder()
        var bytes = Bytes("$\(text.utf8.count)\r\n\(text)\r\n")
        return try! decoder.decode(from: &bytes)!
    }

    static let deadline = Deadline.now() + .seconds(60)

    func read(_ coalescer: ReadCoalescer, _ connection: FakeConnection, _ gate: Gate, deadline: Deadline = Self.deadline) -> Task<
        String?, Never
    > {
        Task {
            let outcome = await coalescer.read(
                Bytes("GET k"), on: connection, batchesWritten: { $0.written.load(ordering: .relaxed) }, deadline: deadline
            ) {
                await gate.send()
            }
            return try? outcome.get().stringBytes?.string
        }
    }

    @Test func readersOfAnUnsentRequestShareItsReply() async {
        let (coalescer, connection, gate) = (ReadCoalescer(), FakeConnection(), Gate())
        let leader = read(coalescer, connection, gate)
        await gate.waitForSends(1)
        let joiners = (0..<5).map { _ in read(coalescer, connection, gate) }
        while coalescer.waiters(of: Bytes("GET k")) < 5 { await Task.yield() }
        gate.reply(.success(Self.token("v")))
        #expect(await leader.value == "v")
        for joiner in joiners { #expect(await joiner.value == "v") }
        #expect(gate.sent.load(ordering: .relaxed) == 1)
    }

    @Test func aRequestAlreadyWrittenIsNotJoined() async {
        let (coalescer, connection, gate) = (ReadCoalescer(), FakeConnection(), Gate())
        let leader = read(coalescer, connection, gate)
        await gate.waitForSends(1)
        // Its bytes left: a read starting now must not get a reply the server made before it.
        connection.written.add(1, ordering: .relaxed)
        let later = read(coalescer, connection, gate)
        await gate.waitForSends(2)
        gate.reply(.success(Self.token("v")))
        #expect(await leader.value == "v")
        #expect(await later.value == "v")
        #expect(gate.sent.load(ordering: .relaxed) == 2)
    }

    @Test func aFailedRequestsJoinersSendTheirOwn() async {
        let (coalescer, connection, gate) = (ReadCoalescer(), FakeConnection(), Gate())
        let leader = read(coalescer, connection, gate)
        await gate.waitForSends(1)
        let joiner = read(coalescer, connection, gate)
        while coalescer.waiters(of: Bytes("GET k")) < 1 { await Task.yield() }
        gate.reply(.failure(GlideError(.timeout, "no reply")))
        #expect(await leader.value == nil)
        // The joiner's own request.
        await gate.waitForSends(1)
        gate.reply(.success(Self.token("w")))
        #expect(await joiner.value == "w")
        #expect(gate.sent.load(ordering: .relaxed) == 2)
    }

    @Test func aRequestWithALaterDeadlineIsNotJoined() async {
        let (coalescer, connection, gate) = (ReadCoalescer(), FakeConnection(), Gate())
        let leader = read(coalescer, connection, gate, deadline: Self.deadline + .seconds(10))
        await gate.waitForSends(1)
        let hurried = read(coalescer, connection, gate, deadline: Self.deadline)
        await gate.waitForSends(2)
        gate.reply(.success(Self.token("v")))
        let (first, second) = (await leader.value, await hurried.value)
        #expect(first == "v" && second == "v")
        #expect(gate.sent.load(ordering: .relaxed) == 2)
    }
}
