import GlideConnection
import GlideRouter
import GlideTransport

/// A non-atomic cluster batch laid out for sending: each command as one piece, or as several when
/// it needs several nodes (a command for every node or every primary, or keys split by slot);
/// each piece bound for one node; the pieces grouped by node in the batch's order. Once the
/// pieces are answered, it puts each command's result together from its pieces, as the client's
/// own method for the command would.
///
/// Pure: the slot map is asked through the closures it is given, so a test lays batches out
/// without a cluster.
struct ClusterBatchPlan: Sendable {
    /// Where a piece goes again after a redirection or a transient error.
    enum Target: Sendable, Hashable {
        /// The primary serving a slot (it follows `MOVED` and `ASK`).
        case slot(UInt16)
        /// One node (a keyless command, or one node's copy of a command for every node).
        case node(NodeAddress)
    }

    /// One request to one node: a whole command, or its part for that node.
    struct Piece: Sendable {
        /// The batch command it belongs to.
        var command: Int
        var target: Target
        /// The node it is sent to first.
        var node: NodeAddress
        var source: Source
    }

    /// Where a piece's encoding is.
    enum Source: Sendable {
        /// A whole command, between two marks of the batch's buffer: sliced from it when sent.
        case batch(RESPCommandBuffer.Mark, RESPCommandBuffer.Mark)
        /// A part of a split command, encoded by the split.
        case part(Bytes)
    }

    /// How a command's result is made from its pieces' replies.
    enum Assembly: Sendable {
        /// One piece: its reply.
        case single
        /// Every node's reply, combined by the command's response policy (`DBSIZE` sums).
        case combined(name: String, ResponseAggregation)
        /// The replies of its parts by slot, put back in key order (`MGET`) or combined (`DEL`).
        case split(name: String, SlotSplit, ResponseAggregation)
        /// No policy combines them (`INFO`): a map from each node's address to its reply.
        case byNode
    }

    /// What the plan asks of the slot map.
    struct Nodes {
        /// The primary serving a slot, if one does.
        var primary: (UInt16) -> NodeAddress?
        /// Every primary.
        var primaries: () -> [NodeAddress]
        /// Every node, replicas included.
        var all: () -> [NodeAddress]
        /// The primary that the batch's keyless commands share.
        var keyless: NodeAddress?
    }

    /// The batch's commands, encoded back to back.
    let batch: RESPCommandBuffer
    private(set) var pieces: [Piece] = []
    /// For each command: its pieces (a range of `pieces`) and how they make its result.
    private(set) var commands: [(pieces: Range<Int>, assembly: Assembly)] = []
    /// Each node's pieces in the batch's order, the nodes in the order of their first piece.
    private(set) var groups: [(node: NodeAddress, pieces: [Int])] = []

    /// Lays out `contents`. With `fixed` (a routed batch), every command goes there whole.
    init(_ contents: BatchContents, fixed: NodeAddress?, nodes: Nodes) throws(GlideError) {
        batch = contents.commands
        commands.reserveCapacity(contents.count)
        pieces.reserveCapacity(contents.count)
        for index in 0..<contents.count {
            let start = pieces.count
            let whole = Source.batch(contents.start(of: index), contents.ends[index])
            let assembly = try lay(index, whole, of: contents, contents.targets[index], fixed: fixed, nodes: nodes)
            commands.append((start..<pieces.count, assembly))
        }
        var order: [NodeAddress] = []
        var byNode: [NodeAddress: [Int]] = [:]
        for (index, piece) in pieces.enumerated() {
            if byNode[piece.node] == nil { order.append(piece.node) }
            byNode[piece.node, default: []].append(index)
        }
        groups = order.map { ($0, byNode[$0]!) }
    }

    /// Adds the pieces of command `index` and says how they make its result.
    private mutating func lay(
        _ index: Int, _ command: Source, of contents: BatchContents, _ target: BatchTarget, fixed: NodeAddress?, nodes: Nodes
    ) throws(GlideError) -> Assembly {
        func place(_ target: Target, _ source: Source, on node: NodeAddress?) throws(GlideError) {
            guard let node else {
                throw GlideError(
                    .routing, "no node serves the slot of command \(index + 1) of the batch; the cluster is not fully covered")
            }
            pieces.append(Piece(command: index, target: target, node: node, source: source))
        }
        switch target {
        case .slot(let slot):
            try place(.slot(slot), command, on: fixed ?? nodes.primary(slot))
            return .single
        case .anyPrimary:
            guard let node = fixed ?? nodes.keyless else { throw GlideError(.routing, "the client knows no node of the cluster") }
            try place(.node(node), command, on: node)
            return .single
        case .several(let name, let decision, let firstSlot):
            if let fixed {
                try place(firstSlot.map { .slot($0) } ?? .node(fixed), command, on: fixed)
                return .single
            }
            switch decision.target {
            case .allNodes, .allPrimaries:
                let targets = decision.target == .allNodes ? nodes.all() : nodes.primaries()
                guard !targets.isEmpty else { throw GlideError(.routing, "the client knows no node of the cluster") }
                for node in targets { try place(.node(node), command, on: node) }
                return decision.aggregation == .perNode ? .byNode : .combined(name: name, decision.aggregation)
            default:
                guard let metadata = CommandTable.metadata(named: name),
                    let split = Router.splitBySlot(contents.command(at: index), metadata: metadata)
                else {
                    // A shape that can't be split goes whole to its first key's slot; the server
                    // says CROSSSLOT, as it does to the client's own method.
                    let slot = firstSlot ?? 0
                    try place(.slot(slot), command, on: nodes.primary(slot))
                    return .single
                }
                for part in split.parts { try place(.slot(part.slot), .part(split.command(part)), on: nodes.primary(part.slot)) }
                return .split(name: name, split, decision.aggregation)
            }
        }
    }

    /// Appends piece `index`'s encoding to `buffer`.
    func write(_ index: Int, into buffer: inout RESPCommandBuffer) {
        switch pieces[index].source {
        case .batch(let start, let end): buffer.append(batch, from: start, to: end)
        case .part(let bytes): buffer.bytes.writeBytes(bytes)
        }
    }

    /// Each command's result from its pieces' replies (in `pieces`' order): a piece that failed,
    /// or answered an error, is the command's result; otherwise its pieces' replies combined.
    func entries(from replies: [BatchResults.Entry]) -> [BatchResults.Entry] {
        commands.map { command -> BatchResults.Entry in
            if case .single = command.assembly { return replies[command.pieces.lowerBound] }
            var tokens: [RESPToken] = []
            tokens.reserveCapacity(command.pieces.count)
            for index in command.pieces {
                switch replies[index] {
                case .failure(let error): return .failure(error)
                case .reply(let token) where token.type.isError: return .reply(token)
                case .reply(let token): tokens.append(token)
                }
            }
            do throws(GlideError) {
                switch command.assembly {
                case .single:
                    return .reply(tokens[0])
                case .combined(let name, let aggregation):
                    return .reply(try ReplyCombining.combine(tokens, by: aggregation, name: name))
                case .split(let name, let split, let aggregation):
                    return .reply(try ReplyCombining.combine(tokens, of: split, by: aggregation, name: name))
                case .byNode:
                    return .reply(try ReplyCombining.byNode(Array(zip(command.pieces.map { pieces[$0].node }, tokens))))
                }
            } catch {
                return .failure(error)
            }
        }
    }
}
