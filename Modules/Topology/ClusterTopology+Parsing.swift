public import GlideRESPCodec

/// A topology reply that could not be understood, or a node that could not give one.
public struct TopologyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

extension ClusterTopology {
    /// Parses a `CLUSTER SHARDS` reply (Valkey 7.0+, RESP2 or RESP3).
    ///
    /// - Parameters:
    ///   - reply: the reply.
    ///   - queried: the node that sent it; its host stands in for endpoints the node reports as
    ///     unknown (`?` or empty), as the server's documentation asks.
    ///   - preferTLSPort: use each node's `tls-port` when it has one.
    public init(shardsReply reply: RESPValue, queried: NodeAddress, preferTLSPort: Bool = false) throws(TopologyError) {
        guard let entries = reply.arrayValue else { throw TopologyError("CLUSTER SHARDS: expected an array, got \(reply)") }
        var shards: [ClusterShard] = []
        for entry in entries {
            let fields = try Self.fields(entry, in: "CLUSTER SHARDS shard")
            var slots: [ClosedRange<UInt16>] = []
            var primary: ClusterNode?
            var replicas: [ClusterNode] = []
            if let bounds = fields["slots"]?.arrayValue {
                guard bounds.count.isMultiple(of: 2) else { throw TopologyError("CLUSTER SHARDS: odd number of slot bounds") }
                for index in stride(from: 0, to: bounds.count, by: 2) {
                    slots.append(try Self.slotRange(bounds[index], bounds[index + 1]))
                }
            }
            var primaries: [ClusterNode] = []
            for nodeEntry in fields["nodes"]?.arrayValue ?? [] {
                guard let node = try Self.shardNode(nodeEntry, queried: queried, preferTLSPort: preferTLSPort) else { continue }
                if node.role == .primary { primaries.append(node) } else { replicas.append(node) }
            }
            // During a failover a shard can list its failed old primary beside the new one.
            if let chosen = primaries.firstIndex(where: { $0.health != .failed }) ?? primaries.indices.first {
                primary = primaries.remove(at: chosen)
            }
            replicas += primaries.map {
                var node = $0
                node.role = .replica
                return node
            }
            shards.append(ClusterShard(slots: slots, primary: primary, replicas: replicas))
        }
        self.init(shards: shards)
    }

    /// Parses a `CLUSTER SLOTS` reply, the form servers before 7.0 understand.
    public init(slotsReply reply: RESPValue, queried: NodeAddress) throws(TopologyError) {
        guard let entries = reply.arrayValue else { throw TopologyError("CLUSTER SLOTS: expected an array, got \(reply)") }
        // Shards are keyed by their primary: CLUSTER SLOTS repeats a shard for each of its ranges.
        var order: [NodeAddress] = []
        var byPrimary: [NodeAddress: ClusterShard] = [:]
        for entry in entries {
            guard let parts = entry.arrayValue, parts.count >= 3 else {
                throw TopologyError("CLUSTER SLOTS: a range entry needs a start, an end and a primary")
            }
            let range = try Self.slotRange(parts[0], parts[1])
            var nodes: [ClusterNode] = []
            for (offset, part) in parts.dropFirst(2).enumerated() {
                // A node whose endpoint is unknown (`?`) can't be reached; a range without a
                // reachable primary is left unserved until a later view.
                guard let node = try Self.slotsNode(part, role: offset == 0 ? .primary : .replica, queried: queried) else {
                    if offset == 0 { break } else { continue }
                }
                nodes.append(node)
            }
            guard let primary = nodes.first, primary.role == .primary else { continue }
            if var shard = byPrimary[primary.address] {
                shard.slots = ClusterShard.merged(shard.slots + [range])
                byPrimary[primary.address] = shard
            } else {
                order.append(primary.address)
                byPrimary[primary.address] = ClusterShard(slots: [range], primary: primary, replicas: Array(nodes.dropFirst()))
            }
        }
        self.init(shards: order.compactMap { byPrimary[$0] })
    }

    // MARK: Pieces

    static func fields(_ value: RESPValue, in context: String) throws(TopologyError) -> [String: RESPValue] {
        var result: [String: RESPValue] = [:]
        switch value {
        case .map(let pairs):
            for pair in pairs {
                guard let key = pair.key.stringValue else { throw TopologyError("\(context): a field name is not a string") }
                result[key] = pair.value
            }
        case .array(let flat):
            guard flat.count.isMultiple(of: 2) else { throw TopologyError("\(context): odd number of field entries") }
            for index in stride(from: 0, to: flat.count, by: 2) {
                guard let key = flat[index].stringValue else { throw TopologyError("\(context): a field name is not a string") }
                result[key] = flat[index + 1]
            }
        default:
            throw TopologyError("\(context): expected a map, got \(value)")
        }
        return result
    }

    static func slotRange(_ start: RESPValue, _ end: RESPValue) throws(TopologyError) -> ClosedRange<UInt16> {
        guard let low = start.intValue, let high = end.intValue, 0 <= low, low <= high, high < HashSlot.count else {
            throw TopologyError("invalid slot range \(start)-\(end)")
        }
        return UInt16(low)...UInt16(high)
    }

    /// The host clients should use, as the server's documentation defines the endpoint: empty
    /// or null means the host of the node that answered; `?` means unknown (the node prefers
    /// host names and has none): `fallback` then, or no usable host.
    static func host(_ reported: String?, queried: NodeAddress, fallback: String? = nil) -> String? {
        guard let reported, !reported.isEmpty else { return queried.host }
        guard reported != "?" else { return fallback.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } }
        return reported
    }

    /// A node of a `CLUSTER SHARDS` reply; `nil` when it has no usable endpoint.
    static func shardNode(_ value: RESPValue, queried: NodeAddress, preferTLSPort: Bool) throws(TopologyError) -> ClusterNode? {
        let fields = try fields(value, in: "CLUSTER SHARDS node")
        var port = fields["port"]?.intValue ?? 0
        if preferTLSPort, let tlsPort = fields["tls-port"]?.intValue, tlsPort > 0 { port = tlsPort }
        guard (1...65535).contains(port) else { throw TopologyError("CLUSTER SHARDS: a node has no usable port") }
        let ip = fields["ip"]?.stringValue
        guard let host = host(fields["endpoint"]?.stringValue ?? ip, queried: queried, fallback: ip) else { return nil }
        let role: ClusterNode.Role =
            fields["role"]?.stringValue == "master" || fields["role"]?.stringValue == "primary" ? .primary : .replica
        let health: ClusterNode.Health =
            switch fields["health"]?.stringValue {
            case "loading": .loading
            case "fail", "failed": .failed
            default: .online
            }
        let zone = fields["availability-zone"]?.stringValue
        return ClusterNode(
            id: fields["id"]?.stringValue ?? "", address: NodeAddress(host: host, port: port),
            role: role, health: health, availabilityZone: zone?.isEmpty == false ? zone : nil)
    }

    /// A node of a `CLUSTER SLOTS` range; `nil` when its endpoint is unknown.
    static func slotsNode(_ value: RESPValue, role: ClusterNode.Role, queried: NodeAddress) throws(TopologyError) -> ClusterNode? {
        guard let parts = value.arrayValue, parts.count >= 2, let port = parts[1].intValue, (1...65535).contains(port) else {
            throw TopologyError("CLUSTER SLOTS: a node entry needs a host and a port")
        }
        guard let host = host(parts[0].isNull ? nil : parts[0].stringValue, queried: queried) else { return nil }
        var zone: String?
        if parts.count > 3, let metadata = try? fields(parts[3], in: "CLUSTER SLOTS metadata") {
            zone = metadata["availability-zone"]?.stringValue
        }
        return ClusterNode(
            id: parts.count > 2 ? parts[2].stringValue ?? "" : "", address: NodeAddress(host: host, port: port),
            role: role, availabilityZone: zone?.isEmpty == false ? zone : nil)
    }
}
