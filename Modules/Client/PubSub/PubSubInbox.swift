import GlideConnection
import GlideTransport
import Synchronization

/// How a client's subscriptions are set up and where their messages go.
public struct PubSubConfiguration: Sendable {
    /// Subscriptions made as the client connects, and again after every reconnection.
    public var subscriptions: PubSubSubscriptions
    /// Called with each message on the client's event loop thread (keep it short: the
    /// connection's replies wait behind it); `nil` delivers messages to `pubsubMessages` instead.
    /// A cluster client spread over several loops (`eventLoopCount`) calls it on the loop of the
    /// connection that received the message: in order per node, concurrently across loops.
    public var callback: (@Sendable (PubSubMessage) -> Void)?
    /// How many messages `pubsubMessages` holds for a consumer that has not taken them yet. When
    /// it is full the oldest message is dropped and counted (`pubsub_messages_dropped`), so a
    /// slow consumer never grows memory without bound or stalls the connection. 10,000.
    public var bufferCapacity: Int
    /// How often the server is asked whether the subscriber connection still has every
    /// subscription (GLIDE's synchronizer checks every 3 s); `nil` checks only on reconnection.
    public var checkInterval: Duration?

    /// Subscriptions, and where their messages go; see each property for its default.
    public init(
        subscriptions: PubSubSubscriptions = PubSubSubscriptions(),
        callback: (@Sendable (PubSubMessage) -> Void)? = nil, bufferCapacity: Int = 10_000,
        checkInterval: Duration? = .seconds(3)
    ) {
        self.subscriptions = subscriptions
        self.callback = callback
        self.bufferCapacity = bufferCapacity
        self.checkInterval = checkInterval
    }
}

/// Where a client's published messages go: the callback, or a bounded stream that drops its
/// oldest message when the consumer falls behind.
final class PubSubInbox: Sendable {
    let messages: AsyncStream<PubSubMessage>
    private let continuation: AsyncStream<PubSubMessage>.Continuation
    private let callback: (@Sendable (PubSubMessage) -> Void)?

    init(_ configuration: PubSubConfiguration?) {
        let capacity = max(configuration?.bufferCapacity ?? 10_000, 1)
        (messages, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        callback = configuration?.callback
    }

    /// Delivers `message`, counting one dropped from a full buffer.
    func deliver(_ message: PubSubMessage) {
        if let callback {
            callback(message)
            return
        }
        if case .dropped = continuation.yield(message) {
            GlideStatistics.pubsubMessagesDropped.add(1, ordering: .relaxed)
        }
    }

    /// Ends the stream: a consumer's loop finishes once it has taken what is buffered.
    func finish() {
        continuation.finish()
    }
}
