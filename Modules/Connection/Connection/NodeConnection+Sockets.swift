extension NodeConnection where Loop == EpollEventLoop, Connector == SocketConnector {
    /// `send` for the production pairing (epoll and sockets), which callers with these types pick
    /// over the generic one.
    ///
    /// A caller in another module can't see the generic `send`'s specialised body, so it would
    /// enter the generic one, which then awaits the specialised code: a second async frame per
    /// request. This entry is compiled for these types here, with the body inlined.
    public func send(
        deadline: Deadline, replies: Int = 1, blocking: Bool = false, confirmation: PubSubConfirmation? = nil,
        collectsReplies: Bool = false,
        encode: @Sendable (inout RESPCommandBuffer) -> Void
    ) async -> Result<ConnectionReply, GlideError> {
        await sendRequest(
            deadline: deadline, replies: replies, blocking: blocking, confirmation: confirmation, collectsReplies: collectsReplies,
            encode: encode)
    }
}
