import GlideConnection
import GlideTopology
import GlideTransport

extension GlideClusterClient {
    /// One step of a `SCAN` over the whole cluster: the keys of one page of one primary, and the
    /// cursor to continue from. Loop until the cursor `isFinished`:
    ///
    /// ```swift
    /// var cursor = ClusterScanCursor()
    /// while !cursor.isFinished {
    ///     let page = try await cluster.scan(cursor, match: "user:*", count: 1_000)
    ///     cursor = page.cursor
    ///     for key in page.keys { print(key.string) }
    /// }
    /// ```
    ///
    /// Every key that exists for the whole scan is returned at least once, through slot
    /// migrations and failovers (see `ClusterScanCursor`); keys may repeat. A slot that no node
    /// serves throws `.routing`, unless `allowNonCoveredSlots` skips it. A node that can't be
    /// reached makes the step return no keys and the scan start that node's slots over where
    /// they are now; after 50 such steps in a row it throws.
    public func scan(
        _ cursor: ClusterScanCursor, match: String? = nil, count: Int? = nil, type: String? = nil,
        allowNonCoveredSlots: Bool = false
    ) async throws(GlideError) -> (cursor: ClusterScanCursor, keys: [Bytes]) {
        try await engine.scan(cursor, match: match, count: count, type: type, allowNonCoveredSlots: allowNonCoveredSlots)
    }
}

extension ClusterEngine {
    /// `GlideClusterClient.scan`.
    func scan(
        _ cursor: ClusterScanCursor, match: String?, count: Int?, type: String?,
        allowNonCoveredSlots: Bool
    ) async throws(GlideError) -> (cursor: ClusterScanCursor, keys: [Bytes]) {
        var cursor = cursor
        do throws(GlideError) {
            if cursor.node == nil {
                try await chooseNode(&cursor, allowNonCoveredSlots: allowNonCoveredSlots)
                guard !cursor.isFinished else { return (cursor, []) }
            }
            guard let node = cursor.node else { return (cursor, []) }
            var command = RESPCommandBuffer()
            SCAN(cursor.nodeCursor, pattern: match.map { BulkString($0) }, count: count, type: type.map { BulkString($0) })
                .encode(into: &command)
            let token = try await ask(node, command, readOnly: true)
            let page: ScanPage
            do {
                page = try ScanPage(fromRESP: token)
            } catch {
                throw ClientChecks.unexpectedReply("SCAN", error, address: node.description)
            }
            cursor.advance(next: page.cursor, viewAtEnd: page.isComplete ? try await view(of: node) : nil)
            return (cursor, page.elements)
        } catch  where [.connectionFailed, .connectionClosed, .timeout, .clientClosed].contains(error.code) && !closed {
            // The node is down or left: start its slots over where the refreshed map puts them.
            cursor.nodeFailed()
            topologyManager.requestRefresh()
            guard cursor.failures < 50 else { throw error }
            _ = await LoopPause.sleep(until: core.loop.now() + .milliseconds(20 * min(cursor.failures, 10)), on: core.loop)
            return (cursor, [])
        }
    }

    /// Picks the primary serving the first slot not done, after checking with that node itself
    /// that it serves it (a stale map is patched from the node's own view).
    private func chooseNode(_ cursor: inout ClusterScanCursor, allowNonCoveredSlots: Bool) async throws(GlideError) {
        var corrections = 0
        while let slot = cursor.nextSlot {
            guard let owner = nodes.connection(forSlot: slot, replica: false)?.connector.address else {
                guard allowNonCoveredSlots else {
                    throw GlideError(.routing, "no node serves slot \(slot); scan with allowNonCoveredSlots to skip such slots")
                }
                cursor.skip(slot)
                continue
            }
            let view = try await view(of: owner)
            if corrections < 5, let actual = view.owner(of: slot), actual != owner {
                corrections += 1
                nodes.applyMoved(slot: slot, to: actual)
                topologyManager.requestRefresh()
                continue
            }
            cursor.begin(owner, view: view)
            return
        }
    }

    /// `node`'s own view of the cluster (`CLUSTER NODES`).
    private func view(of node: NodeAddress) async throws(GlideError) -> ClusterNodesView {
        var command = RESPCommandBuffer()
        command.writeRESPCommand("CLUSTER" as StaticString, "NODES" as StaticString)
        let token = try await ask(node, command, readOnly: false)
        guard let text = token.stringBytes?.string else {
            throw GlideError(.protocolError, "CLUSTER NODES replied with a RESP \(token.type)", address: node.description)
        }
        return ClusterNodesView(parsing: text, queried: node)
    }

    /// Sends `command` to `node`; a node that left the map meanwhile is a node that can't be
    /// reached, which the scan recovers from.
    private func ask(_ node: NodeAddress, _ command: RESPCommandBuffer, readOnly: Bool) async throws(GlideError) -> RESPToken {
        do {
            return try await sendOnce(command, to: node, deadline: deadline(blockingTimeout: nil), readOnly: readOnly)
        } catch  where error.code == .routing {
            throw GlideError(.connectionFailed, "\(node) left the cluster during the scan", address: node.description)
        }
    }
}
