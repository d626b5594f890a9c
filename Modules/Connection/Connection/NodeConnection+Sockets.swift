public import Synchronization

extension NodeConnection where Loop == EpollEventLoop, Connector == SocketConnector {
    /// `send` for the production pairing (epoll and sockets), which callers with these types pick
    /// over the generic one.
    ///
    /// Inlinable, so a caller in another module awaits the reply in its own frame: an async call
    /// across modules would be one more task-allocated frame per request. What runs under the lock
    /// is `submit`, compiled here for these types.
    @inlinable
    public func send(
        deadline: Deadline, replies: Int = 1, blocking: Bool = false, confirmation: PubSubConfirmation? = nil,
        collectsReplies: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        let id = requestIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let onLoopThread = loop.inEventLoop
        return await awaitReply(id: id, blocking: blocking) { continuation in
            submit(
                continuation, id: id, deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation,
                collectsReplies: collectsReplies, onLoopThread: onLoopThread, encode: encode)
        }
    }

    /// `submit` for the production pairing, which `send` above calls without the generic entry.
    @usableFromInline
    func submit(
        _ continuation: Waiter, id: UInt64, deadline: Deadline, replies: Int, blocking: Bool, confirmation: PubSubConfirmation?,
        collectsReplies: Bool, onLoopThread: Bool, encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) {
        submitRequest(
            continuation, id: id, deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation,
            collectsReplies: collectsReplies, onLoopThread: onLoopThread, encode: encode)
    }
}
