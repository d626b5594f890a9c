import GlideTransport

/// A standalone deployment's nodes as the client sees them: each one's role, the primary it
/// replicates from, its zone and whether it can be reached, and which node takes writes. The
/// supervisor feeds it what handshakes, `ROLE` replies and lost connections say. Pure.
///
/// Which node is the primary (`elect()`): among the reachable nodes that say they are primaries,
/// the one most reachable replicas say they replicate from; on a tie the current primary stays,
/// else the first configured. When no reachable node says it is a primary (the primary is down
/// and nothing was promoted yet) the current one stays, and writes wait for it. Under Sentinel,
/// the node the sentinels name (`declare(_:)`) is the primary unless it says it is a replica:
/// during a failover both nodes may say they are primaries for a while, and only the sentinels
/// know which one the old one will follow.
struct StandaloneTopology: Hashable, Sendable {
    enum Role: Hashable, Sendable {
        case unknown
        case primary
        case replica
    }

    struct Node: Hashable, Sendable {
        let address: NodeAddress
        var role: Role = .unknown
        /// For a replica, the primary it replicates from, as its `ROLE` says.
        var replicatesFrom: NodeAddress?
        var zone: String?
        var reachable = false
    }

    private(set) var nodes: [Node]
    /// The node that takes writes.
    private(set) var primary = 0
    /// The primary the sentinels name, under Sentinel.
    private(set) var declared: NodeAddress?

    /// The configured nodes, the first taken for the primary until roles say otherwise.
    init(addresses: [NodeAddress]) {
        nodes = addresses.map { Node(address: $0) }
    }

    /// Where `address` is among the nodes.
    func index(of address: NodeAddress) -> Int? {
        nodes.firstIndex { $0.address == address }
    }

    /// Adds a node found through another (a replica a primary lists, a primary a replica names);
    /// returns its index.
    mutating func add(_ address: NodeAddress) -> Int {
        if let known = index(of: address) { return known }
        nodes.append(Node(address: address))
        return nodes.count - 1
    }

    /// The sentinels name `address` as the primary; returns its index (added if new).
    mutating func declare(_ address: NodeAddress) -> Int {
        declared = address
        return add(address)
    }

    /// Node `index` connected; its handshake reported `role` (`master`, `replica`) and `zone`.
    mutating func connected(_ index: Int, role: String?, zone: String?) {
        nodes[index].reachable = true
        if let role = role.flatMap(Self.role) { nodes[index].role = role }
        if let zone { nodes[index].zone = zone }
    }

    /// Node `index` can't be reached.
    mutating func lost(_ index: Int) {
        nodes[index].reachable = false
    }

    /// Node `index` answered `ROLE` with `report`; returns the addresses it named that are new.
    mutating func roleReported(_ index: Int, _ report: RoleReport) -> [NodeAddress] {
        var named: [NodeAddress]
        switch report {
        case .primary(let replicas):
            nodes[index].role = .primary
            nodes[index].replicatesFrom = nil
            named = replicas
        case .replica(let primary):
            nodes[index].role = .replica
            nodes[index].replicatesFrom = primary
            named = [primary]
        case .other:
            return []
        }
        named.removeAll { self.index(of: $0) != nil }
        return named
    }

    /// Chooses the primary as the type's documentation says; returns whether it changed.
    mutating func elect() -> Bool {
        if let declared, let named = index(of: declared), nodes[named].role != .replica {
            // Reachable or not: a write waits for the named primary rather than reach the old
            // one, where it would be lost when the sentinels make that one a replica.
            defer { primary = named }
            return named != primary
        }
        let candidates = nodes.indices.filter { nodes[$0].reachable && nodes[$0].role == .primary }
        guard !candidates.isEmpty else { return false }
        func votes(_ candidate: Int) -> Int {
            nodes.count { $0.reachable && $0.role == .replica && $0.replicatesFrom == nodes[candidate].address }
        }
        let most = candidates.map(votes).max()!
        let leaders = candidates.filter { votes($0) == most }
        let chosen = leaders.contains(primary) ? primary : leaders[0]
        defer { primary = chosen }
        return chosen != primary
    }

    /// The reachable replicas.
    var replicas: [Int] { nodes.indices.filter { nodes[$0].reachable && nodes[$0].role == .replica } }

    static func role(_ text: String) -> Role? {
        switch text {
        case "master", "primary": .primary
        case "slave", "replica": .replica
        default: nil
        }
    }
}

/// What a node's `ROLE` reply says.
enum RoleReport: Hashable, Sendable {
    /// A primary, with the replicas it lists.
    case primary(replicas: [NodeAddress])
    /// A replica of `of`.
    case replica(of: NodeAddress)
    /// A sentinel, or something else.
    case other

    /// Reads a `ROLE` reply: `master offset [[ip port offset] …]`, or
    /// `slave host port state offset`; `nil` when it is neither (an error, say).
    init?(_ token: RESPToken) {
        guard let elements = token.elements.map(Array.init), let kind = elements.first?.stringBytes?.string else { return nil }
        switch StandaloneTopology.role(kind) {
        case .primary:
            var replicas: [NodeAddress] = []
            if elements.count >= 3, let listed = elements[2].elements {
                for replica in listed {
                    guard let fields = replica.elements.map(Array.init), fields.count >= 2,
                        let host = fields[0].stringBytes?.string,
                        let port = fields[1].integerValue ?? fields[1].stringBytes.flatMap({ Int($0.string) })
                    else { continue }
                    replicas.append(NodeAddress(host: host, port: port))
                }
            }
            self = .primary(replicas: replicas)
        case .replica:
            guard elements.count >= 3, let host = elements[1].stringBytes?.string,
                let port = elements[2].integerValue ?? elements[2].stringBytes.flatMap({ Int($0.string) })
            else { return nil }
            self = .replica(of: NodeAddress(host: host, port: port))
        default:
            self = .other
        }
    }
}
