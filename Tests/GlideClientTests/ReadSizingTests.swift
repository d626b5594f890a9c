import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The size of a connection's reads follows what they bring, so replies waiting for their callers
/// don't each pin a buffer sized for the largest read.
@Suite struct ReadSizingTests {
    @Test func aFullReadDoublesTheNextUpToTheMaximum() {
        var sizing = ReadSizing(maximum: 64 * 1024)
        #expect(sizing.next == ReadSizing.initial)
        sizing.record(read: ReadSizing.initial, asked: ReadSizing.initial)
        #expect(sizing.next == 2 * ReadSizing.initial)
        for _ in 0..<10 { sizing.record(read: sizing.next, asked: sizing.next) }
        #expect(sizing.next == 64 * 1024)
    }

    @Test func aRunOfSmallReadsHalvesItDownToTheFloor() {
        var sizing = ReadSizing(maximum: 64 * 1024)
        for _ in 0..<(ReadSizing.smallReadsToShrink - 1) { sizing.record(read: 100, asked: sizing.next) }
        #expect(sizing.next == ReadSizing.initial, "one read short of a run")
        sizing.record(read: 100, asked: sizing.next)
        #expect(sizing.next == ReadSizing.initial / 2)
        for _ in 0..<200 { sizing.record(read: 100, asked: sizing.next) }
        #expect(sizing.next == ReadSizing.minimum)
    }

    @Test func aMiddlingReadBreaksTheRun() {
        var sizing = ReadSizing(maximum: 64 * 1024)
        for round in 0..<(4 * ReadSizing.smallReadsToShrink) {
            // Every eighth read brings half of what was asked: never a run of eight small ones.
            let count = round % ReadSizing.smallReadsToShrink == 0 ? sizing.next / 2 : 100
            sizing.record(read: count, asked: sizing.next)
        }
        #expect(sizing.next == ReadSizing.initial)
    }

    @Test func aLargeReplysReadGrowsOnlyToTheMaximum() {
        var sizing = ReadSizing(maximum: 64 * 1024)
        sizing.record(read: 4 * 1024 * 1024, asked: 4 * 1024 * 1024)
        #expect(sizing.next == 64 * 1024)
    }

    /// Forty replies read one at a time and all still held by their callers: the buffers they
    /// pin shrink with the reads instead of staying at the largest size.
    @Test func heldRepliesOfSmallReadsPinSmallBuffers() async throws {
        var harness = Harness()
        defer { harness.finish() }
        let requests = (0..<40).map { harness.send(["GET", "k\($0)"], timeout: .seconds(30)) }
        let server = try await harness.acceptAndHandshake()
        try await harness.settle()
        #expect(commands(server.receiveAll()).count == 40)
        let connection = harness.connection
        let capacities = Lock<[Int]>([])
        for _ in 0..<40 {
            try server.send("$2\r\nok\r\n")
            harness.loop.run()
            harness.loop.execute { capacities.withLock { $0.append(connection.readBuffer.value.capacity) } }
            harness.loop.run()
        }
        var replies: [ConnectionReply] = []
        for request in requests { replies.append(try await request.value.get()) }
        #expect(replies.allSatisfy { $0.token.stringBytes == "ok" })
        let seen = capacities.withLock { $0 }
        #expect(seen.first ?? 0 >= ReadSizing.initial)
        #expect(seen.last ?? .max <= 4 * 1024, "\(seen)")
    }
}
