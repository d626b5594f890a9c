import GlideConnection
import GlideTopology
import GlideTransport
import Synchronization

/// A node's answer to a topology question: the reply, or the server's error message.
enum NodeAnswer {
    case success(RESPValue)
    case failure(String)
}

/// How the cluster client learns the topology: nodes' views, and why nodes gave none. Tests give
/// scripted views; the client asks its nodes (`ConnectionDiscovery`).
protocol ClusterDiscovery: NodeDiscovery {
    /// The most telling failure among `addresses` (credentials and configuration before
    /// unreachable nodes), for the error of a client that found no view; `nil` when none failed.
    func mostTellingFailure(_ addresses: [NodeAddress]) -> GlideError?
}

/// Asks nodes for their view of the cluster over the client's own connections (`CLUSTER
/// SHARDS`, or `CLUSTER SLOTS` for servers before 7.0), remembering why nodes failed so the
/// client can say it.
final class ConnectionDiscovery<Loop: EventLoop, Connector: NodeConnector>: ClusterDiscovery {
    let nodes: ClusterNodes<Loop, Connector>
    /// The last failure of each node, as the client's error.
    let failures = Lock<[NodeAddress: GlideError]>([:])

    init(nodes: ClusterNodes<Loop, Connector>) {
        self.nodes = nodes
    }

    func view(from address: NodeAddress) async throws(TopologyError) -> ClusterTopology {
        // A seed not yet in the map gets a connection for this question only, and so does a node
        // whose connection is down: connecting that one would start an attempt behind its
        // supervisor's backoff, and its failure would ask for another refresh, and so on, one
        // refresh per minimum interval for as long as the node is down.
        let known = nodes.connection(to: address).flatMap { $0.isDown ? nil : $0 }
        let connection = known ?? nodes.core.makeUnsupervisedConnection(address)
        defer { if known == nil { connection.close() } }
        // A question no longer needed (the election is decided) ends now: closing its own
        // connection ends the connect; a request on a shared one ends on cancellation itself.
        let answer = await withTaskCancellationHandler {
            await question(connection, address)
        } onCancel: {
            if known == nil { connection.close() }
        }
        return try answer.get()
    }

    /// `CLUSTER SHARDS` (or `CLUSTER SLOTS`) asked of `address` over `connection`.
    private func question(_ connection: ClusterNodes<Loop, Connector>.Connection, _ address: NodeAddress) async
        -> Result<ClusterTopology, TopologyError>
    {
        let configuration = nodes.configuration
        do throws(GlideError) {
            // The connect's own outcome (refused, timed out, TLS, credentials) first, bounded by
            // the connection timeout; then the question, bounded by the request timeout.
            if case .failure(let error) = await connection.connect() { throw error }
            let deadline = nodes.core.loop.now() + max(configuration.requestTimeout, .seconds(1))
            var reply = try await ask(connection, address, ["CLUSTER", "SHARDS"], deadline: deadline)
            // A server before Redis 7 has no `CLUSTER SHARDS`.
            if case .failure(let message) = reply, ErrorReplyMeaning.isUnknownCommand(message) {
                reply = try await ask(connection, address, ["CLUSTER", "SLOTS"], deadline: deadline)
                return .success(try topology(reply, address: address, shards: false))
            }
            return .success(try topology(reply, address: address, shards: true))
        } catch {
            // A question cancelled once the election was decided says nothing about the node.
            if !Task.isCancelled { failures.withLock { $0[address] = error } }
            return .failure(TopologyError("\(address): \(error.message)"))
        }
    }

    private func ask(
        _ connection: ClusterNodes<Loop, Connector>.Connection, _ address: NodeAddress, _ command: [StaticString],
        deadline: Deadline
    ) async throws(GlideError) -> NodeAnswer {
        switch await connection.send(deadline: deadline, encode: { $0.writeRESPCommand(command) }) {
        case .failure(let error):
            throw error
        case .success(let reply):
            if reply.token.type.isError { return .failure(reply.token.stringBytes?.string ?? "") }
            return .success(RESPValue(reply.token))
        }
    }

    private func topology(_ reply: NodeAnswer, address: NodeAddress, shards: Bool) throws(GlideError) -> ClusterTopology {
        switch reply {
        case .failure(let message):
            let code: GlideError.Code =
                message.contains("cluster support disabled")
                ? .configuration
                : message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") ? .authenticationFailed : .server
            throw GlideError(
                code,
                message.contains("cluster support disabled")
                    ? "\(address) is not a cluster node (cluster support is disabled)" : message, address: address.description)
        case .success(let value):
            do throws(TopologyError) {
                return shards
                    ? try ClusterTopology(shardsReply: value, queried: address, preferTLSPort: nodes.configuration.useTLS)
                    : try ClusterTopology(slotsReply: value, queried: address)
            } catch {
                throw GlideError(.protocolError, error.message, address: address.description)
            }
        }
    }

    /// The most telling failure among `addresses`: credentials and configuration before
    /// unreachable nodes.
    func mostTellingFailure(_ addresses: [NodeAddress]) -> GlideError? {
        let errors = failures.withLock { failures in addresses.compactMap { failures[$0] } }
        let rank: (GlideError) -> Int = { error in
            switch error.code {
            case .authenticationFailed: 0
            case .configuration: 1
            case .server, .protocolError: 2
            default: 3
            }
        }
        return errors.min { rank($0) < rank($1) }
    }
}
