import GlideBuffers
import GlideTransport

/// Values delivered to every stream a consumer asked for, each stream bounded: when a consumer
/// falls `capacity` values behind, its oldest are dropped and `dropped` is called. What the
/// clients' published messages and events go through.
package final class Broadcast<Element: Sendable>: Sendable {
    private let capacity: Int
    private let holdsWhileNoConsumer: Bool
    private let dropped: @Sendable () -> Void
    private let state = Lock(State())

    private struct State {
        var consumers: [(id: UInt64, continuation: AsyncStream<Element>.Continuation)] = []
        var nextID: UInt64 = 0
        /// Values that arrived while no stream was open, for the next one (bounded as a stream).
        var waiting = RingBuffer<Element>()
        var finished = false
    }

    /// `holdsWhileNoConsumer`: values that arrive while no stream is open wait for the next one;
    /// otherwise nobody sees them.
    package init(capacity: Int, holdsWhileNoConsumer: Bool, dropped: @escaping @Sendable () -> Void) {
        self.capacity = max(capacity, 1)
        self.holdsWhileNoConsumer = holdsWhileNoConsumer
        self.dropped = dropped
    }

    /// A new stream of the values delivered from now on, after those that waited for a consumer.
    /// It ends with `finish()`, or when its consumer stops iterating.
    package func stream() -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .bufferingNewest(capacity))
        let id: UInt64? = state.withLock { state in
            guard !state.finished else { return nil }
            while let value = state.waiting.popFirst() { continuation.yield(value) }
            state.nextID += 1
            state.consumers.append((state.nextID, continuation))
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { $0.consumers.removeAll { $0.id == id } }
        }
        return stream
    }

    /// Whether a stream is open: a producer with work to do for each value can skip it.
    package var hasConsumers: Bool { state.withLock { !$0.consumers.isEmpty } }

    /// Delivers `value` to every open stream (or keeps it for the next one).
    package func yield(_ value: Element) {
        // Yielded outside the lock: a stream's termination handler takes it.
        let consumers = state.withLock { state in
            if state.consumers.isEmpty && !state.finished && holdsWhileNoConsumer {
                if state.waiting.count == capacity {
                    _ = state.waiting.popFirst()
                    dropped()
                }
                state.waiting.append(value)
            }
            return state.consumers
        }
        for consumer in consumers {
            if case .dropped = consumer.continuation.yield(value) { dropped() }
        }
    }

    /// Ends every stream: a consumer's loop finishes once it has taken what is buffered, and a
    /// stream asked for later ends at once.
    package func finish() {
        let consumers = state.withLock { state in
            state.finished = true
            state.waiting = RingBuffer()
            defer { state.consumers = [] }
            return state.consumers
        }
        for consumer in consumers { consumer.continuation.finish() }
    }
}
