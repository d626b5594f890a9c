import GlideConnection
import GlideRouter
import GlideTransport

extension ClusterEngine {
    /// Sends the parts of a split command (`MGET`, `MSET`, `DEL`, … across slots) one pipeline per
    /// node: each node's parts leave in one write, as one request of as many replies, all nodes
    /// at once. A part answered with an error, or whose node's request failed, goes on alone
    /// through `ClusterRequestStateMachine` from that outcome, as a single-slot request does
    /// after its first attempt: `MOVED` patches the slot map and follows, `ASK` follows, a
    /// transient error waits, a write lost in flight fails, an error reply that is the answer
    /// throws. A part whose slot no node serves now starts there. Returns the replies in the
    /// parts' order.
    func sendSplit(_ parts: [(slot: UInt16, command: Bytes)], replica: Bool, readOnly: Bool, deadline: Deadline)
        async throws(GlideError) -> [RESPToken]
    {
        var groups: [(connection: Core.Connection, indices: [Int])] = []
        var alone: [Int] = []
        for (index, part) in parts.enumerated() {
            guard !closed, let connection = nodes.connection(forSlot: part.slot, replica: replica) else {
                alone.append(index)
                continue
            }
            if let group = groups.firstIndex(where: { $0.connection === connection }) {
                groups[group].indices.append(index)
            } else {
                groups.append((connection, [index]))
            }
        }
        let sent = await withTaskGroup(of: (Int, Result<ConnectionReply, GlideError>).self) { tasks in
            for (number, group) in groups.enumerated() {
                let commands = group.indices.map { parts[$0].command }
                let connection = group.connection
                tasks.addTask {
                    let result = await connection.send(deadline: deadline, replies: commands.count, collectsReplies: true) { buffer in
                        for command in commands { buffer.bytes.writeBytes(command) }
                    }
                    return (number, result)
                }
            }
            var all = [Result<ConnectionReply, GlideError>?](repeating: nil, count: groups.count)
            for await (number, result) in tasks { all[number] = result }
            return all
        }
        var replies = [RESPToken?](repeating: nil, count: parts.count)
        var again = alone.map { (index: $0, first: Attempt?.none) }
        for (group, result) in zip(groups, sent) {
            let node = group.connection.connector.address
            switch result! {
            case .success(let reply):
                for (index, token) in zip(group.indices, (reply.earlier ?? []) + [reply.token]) {
                    if token.type.isError {
                        again.append((index, Attempt(result: .success(ConnectionReply(token: token, queuedError: nil)), node: node)))
                    } else {
                        replies[index] = token
                    }
                }
            case .failure(let error):
                again += group.indices.map { ($0, Attempt(result: .failure(error), node: node)) }
            }
        }
        if !again.isEmpty {
            again.sort { $0.index < $1.index }
            let requests = again.map {
                FanOutRequest.part(parts[$0.index].slot, parts[$0.index].command, replica: replica, after: $0.first)
            }
            for (part, token) in zip(again, try await fanOut(requests, readOnly: readOnly, deadline: deadline)) {
                replies[part.index] = token
            }
        }
        return replies.map { $0! }
    }
}
