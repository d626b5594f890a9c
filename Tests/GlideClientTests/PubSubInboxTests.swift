import GlideBuffers
import GlideConnection
import Testing

@testable import GlideClient

/// The inbox behind `pubsubMessages()`, with no sockets: every stream gets every message, messages
/// wait (bounded) while no stream is open, and a stream that ends stops taking them.
@Suite struct PubSubInboxTests {
    static func message(_ text: String) -> PubSubMessage {
        PubSubMessage(channel: Bytes("news"), payload: Bytes(text))
    }

    static func take(_ count: Int, from stream: AsyncStream<PubSubMessage>) async -> [String] {
        var taken: [String] = []
        for await message in stream {
            taken.append(message.message)
            if taken.count == count { break }
        }
        return taken
    }

    @Test func everyStreamGetsEveryMessage() async {
        let inbox = PubSubInbox(nil)
        let first = inbox.messages()
        let second = inbox.messages()
        for text in ["a", "b", "c"] { inbox.deliver(Self.message(text)) }
        #expect(await Self.take(3, from: first) == ["a", "b", "c"])
        #expect(await Self.take(3, from: second) == ["a", "b", "c"])
    }

    @Test func messagesWaitForTheNextStreamAndTheOldestAreDropped() async {
        let inbox = PubSubInbox(PubSubConfiguration(bufferCapacity: 3))
        let dropped = GlideStatistics.pubsubMessagesDropped.load(ordering: .relaxed)
        for text in ["1", "2", "3", "4", "5"] { inbox.deliver(Self.message(text)) }
        #expect(GlideStatistics.pubsubMessagesDropped.load(ordering: .relaxed) - dropped >= 2)
        // The waiting messages go to the first stream opened; a stream opened after it sees only
        // what follows.
        let stream = inbox.messages()
        #expect(await Self.take(3, from: stream) == ["3", "4", "5"])
        let later = inbox.messages()
        inbox.deliver(Self.message("6"))
        #expect(await Self.take(1, from: stream) == ["6"])
        #expect(await Self.take(1, from: later) == ["6"])
    }

    @Test func aStreamWhoseConsumerStoppedTakesNoMore() async {
        let inbox = PubSubInbox(nil)
        do {
            let stream = inbox.messages()
            inbox.deliver(Self.message("a"))
            #expect(await Self.take(1, from: stream) == ["a"])
        }
        // The first stream is gone: with no stream open, the next message waits for a new one.
        inbox.deliver(Self.message("b"))
        #expect(await Self.take(1, from: inbox.messages()) == ["b"])
    }

    @Test func finishingEndsOpenStreamsAndLaterOnes() async {
        let inbox = PubSubInbox(nil)
        let open = inbox.messages()
        inbox.deliver(Self.message("kept"))
        inbox.finish()
        var seen: [String] = []
        for await message in open { seen.append(message.message) }
        #expect(seen == ["kept"])
        var later = 0
        for await _ in inbox.messages() { later += 1 }
        #expect(later == 0)
    }
}
