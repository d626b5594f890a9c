import GlideTransport

extension NodeConnection {
    /// Frees this connection's cancelled blocking command (request `requestID`, sent on attempt
    /// `generation`, server connection `clientID`): what an observer's `unblockRequested` runs, in
    /// a task the observer owns.
    ///
    /// Sends `CLIENT UNBLOCK clientID TIMEOUT` from a side connection until the server unblocks
    /// the command or answers it; the cancelled command's own reply then ends its wait (a null
    /// reply: `.cancelled`; a value the server handed it first: that value, so nothing popped is
    /// lost). The command may still be on its way to the server (the answer is then 0): it is
    /// asked again, a little later. When the node can't be asked, the connection is dropped, which
    /// also frees the command. Each question waits `replyTimeout` beyond the connect.
    package func unblockFromSideConnection(clientID: Int, requestID: UInt64, generation: Int, replyTimeout: Duration) async {
        let side = sideConnection()
        defer { side.close() }
        var pause = Duration.milliseconds(2)
        var failures = 0
        while !Task.isCancelled && isUnblocking(requestID) {
            let result = await side.send(deadline: loop.now() + connectionTimeout + replyTimeout) { buffer in
                buffer.writeRESPCommand("CLIENT" as StaticString, "UNBLOCK" as StaticString, clientID, "TIMEOUT" as StaticString)
            }
            switch result {
            case .success(let reply) where reply.token.integerValue == 1:
                return
            case .success(let reply) where reply.token.type.isError:
                dropConnectionForUnblock(generation: generation)  // not allowed (ACL): nothing else frees it
                return
            case .success:
                break
            case .failure:
                failures += 1
                if failures >= 3 {
                    dropConnectionForUnblock(generation: generation)
                    return
                }
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(100))
        }
    }
}
