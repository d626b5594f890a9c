import GlideBuffers
import GlideRESPCodec
import GlideTopology

/// `CLUSTER SHARDS` and `CLUSTER SLOTS` replies as a hostile or confused node might send them,
/// read into topologies, then the election among up to four such views and the slot map of the
/// winner. A reply is either a topology or a typed error; the election's outcome is one of the
/// views, with no more votes than voters; every slot maps to a node the topology names.
enum TopologyTarget {
    static let queried = NodeAddress(host: "10.0.0.1", port: 7000)

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let preferTLSPort = input.byte() & 1 == 1
        var decoder = RESPDecoder(maximumDepth: 16, maximumBulkLength: 1 << 16, maximumAggregateLength: 1 << 12)
        var buffer = Bytes()
        buffer.writeBytes(input.rest())
        var views: [ClusterTopology] = []
        while views.count < 4 {
            let token: RESPToken?
            do throws(RESPDecodeError) {
                token = try decoder.decode(from: &buffer)
            } catch {
                break
            }
            guard let token else { break }
            let value = RESPValue(token)
            if let topology = try? ClusterTopology(shardsReply: value, queried: queried, preferTLSPort: preferTLSPort) {
                check(topology)
                views.append(topology)
            }
            if let topology = try? ClusterTopology(slotsReply: value, queried: queried) {
                check(topology)
                views.append(topology)
            }
        }
        guard let outcome = TopologyElection.elect(views) else {
            precondition(views.isEmpty, "no outcome from \(views.count) views")
            return
        }
        precondition(outcome.votes >= 1 && outcome.votes <= outcome.voters && outcome.voters <= views.count)
        precondition(views.contains(outcome.topology), "the elected topology is none of the views")
        check(outcome.topology)
    }

    /// A topology's slot map names only its own primaries, and each slot at most once.
    static func check(_ topology: ClusterTopology) {
        let map = SlotMap(topology)
        let primaries = Set(topology.shards.compactMap { $0.primary?.address })
        for slot in stride(from: UInt16(0), through: 16383, by: 61) {
            if let primary = map.primary(forSlot: slot) {
                precondition(primaries.contains(primary), "slot \(slot) maps to \(primary), not a primary of the topology")
            }
        }
        precondition(map.assignedSlotCount <= 16384)
    }
}
