import GlideTopology
import GlideTransport

/// Where a cluster-wide `SCAN` is: which slots are done, and the node being scanned now with its
/// own cursor. Start with `ClusterScanCursor()`, pass each returned cursor to the next call, and
/// stop when `isFinished`.
///
/// The scan visits one primary at a time, scanning it to the end. A slot counts as done only
/// when the node owned it, with no migration in or out, both when that node's scan began and
/// when it ended. A slot that moved, or was migrating, is scanned again where it is now. So every
/// key that exists for the whole scan is returned at least once, through migrations and
/// failovers; a key may be returned more than once.
public struct ClusterScanCursor: Sendable, Hashable {
    /// Slots whose keys were all returned.
    var done = SlotSet()
    /// The node being scanned, its cursor, and the slots it held cleanly when its scan began.
    var node: NodeAddress?
    var nodeCursor = "0"
    var cleanAtStart = SlotSet()
    /// Attempts in a row that reached no node; past a limit the scan gives up.
    var failures = 0

    /// A scan that hasn't started.
    public init() {}

    /// Whether every slot was scanned.
    public var isFinished: Bool { done.isFull }

    /// How many of the 16,384 slots are done, for progress reports.
    public var slotsDone: Int { done.count }

    // MARK: Steps (pure)

    /// The first slot not done yet.
    var nextSlot: UInt16? { done.firstMissing }

    /// Starts scanning `node`, whose own view of the cluster is `view`.
    mutating func begin(_ node: NodeAddress, view: ClusterNodesView) {
        self.node = node
        nodeCursor = "0"
        cleanAtStart = view.cleanSlots(of: node)
    }

    /// `node`'s `SCAN` answered `next`; `view` is its view at that moment when `next` is "0"
    /// (its scan ended). Marks the slots it held cleanly throughout.
    mutating func advance(next: String, viewAtEnd view: ClusterNodesView?) {
        failures = 0
        guard next == "0" else {
            nodeCursor = next
            return
        }
        if let node, let view {
            var clean = cleanAtStart
            clean.formIntersection(view.cleanSlots(of: node))
            done.formUnion(clean)
        }
        node = nil
        nodeCursor = "0"
        cleanAtStart = SlotSet()
    }

    /// The node being scanned could not be reached: start over where the slots are now.
    mutating func nodeFailed() {
        node = nil
        nodeCursor = "0"
        cleanAtStart = SlotSet()
        failures += 1
    }

    /// Marks `slot` done without scanning (a slot no node serves, when that is allowed).
    mutating func skip(_ slot: UInt16) {
        done.insert(slot)
    }
}

/// A set of hash slots, one bit each.
struct SlotSet: Sendable, Hashable {
    private var words = [UInt64](repeating: 0, count: HashSlot.count / 64)

    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    var isFull: Bool { words.allSatisfy { $0 == .max } }
    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    func contains(_ slot: UInt16) -> Bool { words[Int(slot) >> 6] & (1 << (UInt64(slot) & 63)) != 0 }

    mutating func insert(_ slot: UInt16) { words[Int(slot) >> 6] |= 1 << (UInt64(slot) & 63) }

    mutating func insert(_ range: ClosedRange<UInt16>) { for slot in range { insert(slot) } }

    mutating func formUnion(_ other: SlotSet) { for index in words.indices { words[index] |= other.words[index] } }

    mutating func formIntersection(_ other: SlotSet) { for index in words.indices { words[index] &= other.words[index] } }

    mutating func subtract(_ other: SlotSet) { for index in words.indices { words[index] &= ~other.words[index] } }

    /// The lowest slot not in the set.
    var firstMissing: UInt16? {
        for (index, word) in words.enumerated() where word != .max {
            return UInt16(index * 64 + (~word).trailingZeroBitCount)
        }
        return nil
    }
}

/// A node's own view of the cluster, from `CLUSTER NODES`: which primary serves which slots, and
/// which slots are migrating or importing.
struct ClusterNodesView: Sendable {
    struct Node: Sendable {
        var address: NodeAddress
        var isPrimary: Bool
        var slots = SlotSet()
        /// Slots being moved out of this node, or into it.
        var moving = SlotSet()
    }

    var nodes: [Node] = []

    /// The slots `address` serves with no migration in or out.
    func cleanSlots(of address: NodeAddress) -> SlotSet {
        guard let node = nodes.first(where: { $0.address == address && $0.isPrimary }) else { return SlotSet() }
        var clean = node.slots
        clean.subtract(node.moving)
        return clean
    }

    /// The primary serving `slot` in this view.
    func owner(of slot: UInt16) -> NodeAddress? {
        nodes.first { $0.isPrimary && $0.slots.contains(slot) }?.address
    }

    /// Parses `CLUSTER NODES`: one line per node, `id host:port@bus[,hostname] flags primary-id
    /// ping pong epoch link slot...`, where a slot is `n`, `a-b`, `[n->-id]` (migrating) or
    /// `[n-<-id]` (importing). `queried` fills in an empty host.
    init(parsing text: String, queried: NodeAddress) {
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count >= 8 else { continue }
            let endpoint = fields[1].split(separator: "@").first.map(String.init) ?? ""
            guard var address = NodeAddress(parsing: endpoint.split(separator: ",").first ?? "") else { continue }
            if address.host.isEmpty { address.host = queried.host }
            let flags = fields[2].split(separator: ",")
            guard !flags.contains("fail"), !flags.contains("noaddr") else { continue }
            var node = Node(address: address, isPrimary: flags.contains("master"))
            for field in fields.dropFirst(8) {
                if field.hasPrefix("[") {
                    let slotText = field.dropFirst().prefix { $0.isNumber }
                    if let slot = UInt16(slotText), slot < HashSlot.count { node.moving.insert(slot) }
                } else if let dash = field.firstIndex(of: "-") {
                    if let start = UInt16(field[..<dash]), let end = UInt16(field[field.index(after: dash)...]), start <= end,
                        end < HashSlot.count
                    {
                        node.slots.insert(start...end)
                    }
                } else if let slot = UInt16(field), slot < HashSlot.count {
                    node.slots.insert(slot)
                }
            }
            nodes.append(node)
        }
    }
}
