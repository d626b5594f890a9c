import GlideConnection
import GlideTransport
import Synchronization

/// How a client's subscriptions are set up and where their messages go.
public struct PubSubConfiguration: Sendable {
    /// Subscriptions made as the client connects, and again after every reconnection.
    public var subscriptions: PubSubSubscriptions
    /// Called with each message on the client's event loop thread (keep it short: the
    /// connection's replies wait behind it); `nil` delivers messages to `pubsubMessages()` instead.
    /// A cluster client spread over several loops (`eventLoopCount`) calls it on the loop of the
    /// connection that received the message: in order per node, concurrently across loops.
    public var callback: (@Sendable (PubSubMessage) -> Void)?
    /// How many messages each stream of `pubsubMessages()` holds for its consumer (and how many
    /// wait while no stream is open). When it is full the oldest message is dropped and counted
    /// (`pubsub_messages_dropped`), so a slow consumer never grows memory without bound or stalls
    /// the connection. 10,000.
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

/// Where a client's published messages go: the callback, or every stream a consumer asked for,
/// each bounded, dropping its oldest message when its consumer falls behind.
final class PubSubInbox: Sendable {
    private let callback: (@Sendable (PubSubMessage) -> Void)?
    private let broadcast: Broadcast<PubSubMessage>

    init(_ configuration: PubSubConfiguration?) {
        callback = configuration?.callback
        broadcast = Broadcast(capacity: configuration?.bufferCapacity ?? 10_000, holdsWhileNoConsumer: true) {
            GlideStatistics.pubsubMessagesDropped.add(1, ordering: .relaxed)
        }
    }

    /// A new stream of the messages delivered from now on, after those that waited for a consumer.
    func messages() -> AsyncStream<PubSubMessage> { broadcast.stream() }

    /// Delivers `message` to the callback or to every open stream, counting each one dropped from
    /// a full buffer.
    func deliver(_ message: PubSubMessage) {
        if let callback {
            callback(message)
        } else {
            broadcast.yield(message)
        }
    }

    /// Ends every stream.
    func finish() { broadcast.finish() }
}
