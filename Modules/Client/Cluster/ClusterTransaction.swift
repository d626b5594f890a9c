import GlideRouter
import GlideTransport

/// A transaction for a cluster: like `Transaction`, and every key of every command must hash to
/// one slot, which is checked as commands are added and before anything is sent. It runs on
/// that slot's primary.
///
/// ```swift
/// let results = try await cluster.exec(ClusterTransaction().set("{user:1}:name", "Ada").incr("{user:1}:visits"))
/// ```
public final class ClusterTransaction: Transaction, @unchecked Sendable {
    /// An empty cluster transaction.
    public override init() { super.init(tracksSlots: true) }
}

extension GlideClusterClient {
    /// Runs `transaction` atomically on the primary of its keys' slot (a random primary when it
    /// names no key, or where `route` says) and returns one reply per command, in order.
    ///
    /// Keys in different slots throw `.routing`, naming the slots, before anything is sent.
    /// Returns `nil` when a watched key changed. A command the server refused to queue aborts the
    /// transaction with that command's error; when a command fails while running,
    /// `raiseOnError` throws its error, otherwise the error is in the results. A transaction
    /// that meets `MOVED` or `ASK` never ran, and is sent again where the redirection says.
    public func exec(_ transaction: ClusterTransaction, route: Route? = nil, raiseOnError: Bool = true) async throws(GlideError) -> [RESPValue]? {
        let contents = transaction.snapshot()
        if let refused = contents.refused { throw refused }
        if let crossSlot = contents.crossSlot { throw GlideError(.routing, crossSlot) }
        let commands = contents.commands
        let replies = contents.count + 2
        let deadline = engine.deadline(blockingTimeout: nil)
        let encode: @Sendable (inout RESPCommandBuffer) -> Void = { buffer in
            buffer.writeRESPCommand("MULTI" as StaticString)
            buffer.append(commands)
            buffer.writeRESPCommand("EXEC" as StaticString)
        }
        var slot = contents.slot?.slot
        if let route {
            switch Router.decide(name: "EXEC", routing: CommandRouting(flags: [.write]), route: route)?.target {
            case .slot(let routed, _)?:
                slot = routed
            case .address(let address)?:
                guard let connection = nodes.connection(to: address) else {
                    throw GlideError(.routing, "\(address) is not a node of the cluster")
                }
                return try await execOnce(on: connection, at: address, replies: replies, deadline: deadline,
                                          raiseOnError: raiseOnError, encode: encode)
            case .randomNode?:
                slot = nil
            default:
                throw GlideError(.routing, "a transaction runs on one node; \(route) names several")
            }
        }
        guard let slot else {
            guard let (address, connection) = nodes.anyNode(primaryOnly: true) else {
                throw GlideError(.routing, "the client knows no node of the cluster")
            }
            return try await execOnce(on: connection, at: address, replies: replies, deadline: deadline,
                                      raiseOnError: raiseOnError, encode: encode)
        }
        let reply = try await engine.send(toSlot: slot, replica: false, readOnly: false, deadline: deadline, replies: replies, encode: encode)
        return try Transaction.results(of: reply, raiseOnError: raiseOnError, address: nil)
    }

    private func execOnce(on connection: SocketCore.Connection, at address: NodeAddress, replies: Int, deadline: Deadline,
                          raiseOnError: Bool, encode: @Sendable (inout RESPCommandBuffer) -> Void) async throws(GlideError) -> [RESPValue]? {
        switch await connection.send(deadline: deadline, replies: replies, encode: encode) {
        case .failure(let error):
            throw error
        case .success(let reply):
            return try Transaction.results(of: reply, raiseOnError: raiseOnError, address: address.description)
        }
    }
}
