import GlideBuffers
import GlideRESPCodec
import GlideTopology
import Testing

/// Builds `CLUSTER SHARDS` replies: RESP3 maps, or RESP2 flat arrays.
struct ShardsReply {
    var resp3 = true

    func string(_ text: String) -> RESPValue { .bulkString(Bytes(text)) }

    func fields(_ pairs: [(String, RESPValue)]) -> RESPValue {
        resp3
            ? .map(pairs.map { RESPPair(key: string($0.0), value: $0.1) })
            : .array(pairs.flatMap { [string($0.0), $0.1] })
    }

    func node(
        _ port: Int, _ role: String, id: String? = nil, endpoint: String = "127.0.0.1", health: String = "online",
        zone: String? = nil, tlsPort: Int? = nil
    ) -> RESPValue {
        var pairs: [(String, RESPValue)] = [("id", string(id ?? "node\(port)")), ("port", .integer(port))]
        if let tlsPort { pairs.append(("tls-port", .integer(tlsPort))) }
        pairs += [
            ("ip", string("127.0.0.1")), ("endpoint", string(endpoint)), ("role", string(role)),
            ("replication-offset", .integer(42)), ("health", string(health)),
        ]
        if let zone { pairs.append(("availability-zone", string(zone))) }
        return fields(pairs)
    }

    func shard(_ bounds: [Int], _ nodes: [RESPValue]) -> RESPValue {
        fields([("slots", .array(bounds.map { .integer($0) })), ("nodes", .array(nodes))])
    }
}

@Suite(.timeLimit(.minutes(2))) struct TopologyParsingTests {
    let seed = NodeAddress(host: "seed.example", port: 7000)

    func threeShards(_ reply: ShardsReply) -> RESPValue {
        .array([
            reply.shard([10923, 16383], [reply.node(7002, "master", zone: "az-c"), reply.node(7005, "replica", health: "loading")]),
            reply.shard([0, 5460], [reply.node(7000, "master", zone: "az-a"), reply.node(7003, "replica", zone: "az-b")]),
            reply.shard([5461, 10922], [reply.node(7001, "master"), reply.node(7004, "replica")]),
            reply.shard([], [reply.node(7006, "master")]),
        ])
    }

    @Test(arguments: [true, false])
    func shardsReplyParsesInBothProtocols(resp3: Bool) throws {
        let topology = try ClusterTopology(shardsReply: threeShards(ShardsReply(resp3: resp3)), queried: seed)
        #expect(topology.shards.count == 3)
        #expect(topology.shards.map { $0.slots } == [[0...5460], [5461...10922], [10923...16383]])
        #expect(
            topology.shards[0].primary
                == ClusterNode(
                    id: "node7000", address: NodeAddress(host: "127.0.0.1", port: 7000),
                    role: .primary, availabilityZone: "az-a"))
        #expect(topology.shards[0].replicas.map(\.availabilityZone) == ["az-b"])
        #expect(topology.shards[2].replicas[0].health == .loading)
        #expect(topology.idleNodes.map(\.address.port) == [7006])
        #expect(topology.coversAllSlots)
        #expect(topology.nodes.count == 7)
    }

    @Test func emptyEndpointsMeanTheQueriedHostAndUnknownOnesTheIP() throws {
        let reply = ShardsReply()
        let value = RESPValue.array([
            reply.shard(
                [0, 16383],
                [
                    reply.node(7000, "master", endpoint: "?", tlsPort: 8000),
                    reply.node(7001, "replica", endpoint: "", tlsPort: 8001),
                ])
        ])
        let plain = try ClusterTopology(shardsReply: value, queried: seed)
        // `?` is unknown, not "the node you asked": the node's IP stands in.
        #expect(plain.shards[0].primary?.address == NodeAddress(host: "127.0.0.1", port: 7000))
        // Empty means the node that answered.
        #expect(plain.shards[0].replicas[0].address == NodeAddress(host: "seed.example", port: 7001))
        let tls = try ClusterTopology(shardsReply: value, queried: seed, preferTLSPort: true)
        #expect(tls.nodes.map(\.address.port) == [8000, 8001])
    }

    @Test func aFailedOldPrimaryBesideItsSuccessorBecomesAReplica() throws {
        let reply = ShardsReply()
        let value = RESPValue.array([
            reply.shard(
                [0, 16383],
                [
                    reply.node(7000, "master", health: "fail"),
                    reply.node(7003, "master"),
                ])
        ])
        let topology = try ClusterTopology(shardsReply: value, queried: seed)
        #expect(topology.shards[0].primary?.address.port == 7003)
        #expect(topology.shards[0].replicas.map(\.address.port) == [7000])
        #expect(topology.shards[0].replicas[0].health == .failed)
    }

    @Test func slotRangesAreSortedAndMerged() throws {
        let reply = ShardsReply()
        let value = RESPValue.array([reply.shard([100, 200, 0, 99, 300, 300], [reply.node(7000, "master")])])
        let topology = try ClusterTopology(shardsReply: value, queried: seed)
        #expect(topology.shards[0].slots == [0...200, 300...300])
        #expect(topology.coveredSlotCount == 202)
        #expect(!topology.coversAllSlots)
    }

    @Test func malformedRepliesAreTypedErrors() {
        let reply = ShardsReply()
        #expect(throws: TopologyError.self) { try ClusterTopology(shardsReply: .integer(1), queried: seed) }
        #expect(throws: TopologyError.self) {
            try ClusterTopology(shardsReply: .array([reply.shard([0], [reply.node(7000, "master")])]), queried: seed)
        }
        #expect(throws: TopologyError.self) {
            try ClusterTopology(shardsReply: .array([reply.shard([0, 16384], [reply.node(7000, "master")])]), queried: seed)
        }
        #expect(throws: TopologyError.self) {
            try ClusterTopology(shardsReply: .array([reply.shard([5, 1], [reply.node(7000, "master")])]), queried: seed)
        }
        #expect(throws: TopologyError.self) {
            try ClusterTopology(shardsReply: .array([reply.shard([0, 1], [reply.node(0, "master")])]), queried: seed)
        }
        #expect(throws: TopologyError.self) { try ClusterTopology(shardsReply: .array([.integer(3)]), queried: seed) }
    }

    @Test func slotsReplyGroupsRangesByPrimary() throws {
        func node(_ host: String, _ port: Int, _ id: String, zone: String? = nil) -> RESPValue {
            var parts: [RESPValue] = [.bulkString(Bytes(host)), .integer(port), .bulkString(Bytes(id))]
            if let zone { parts.append(.map([RESPPair(key: .bulkString("availability-zone"), value: .bulkString(Bytes(zone)))])) }
            return .array(parts)
        }
        let value = RESPValue.array([
            .array([.integer(0), .integer(99), node("10.0.0.1", 7000, "a", zone: "z1"), node("10.0.0.4", 7003, "d")]),
            .array([.integer(100), .integer(16383), node("", 7001, "b")]),
            .array([.integer(200), .integer(299), node("10.0.0.1", 7000, "a", zone: "z1"), node("10.0.0.4", 7003, "d")]),
        ])
        let topology = try ClusterTopology(slotsReply: value, queried: seed)
        #expect(topology.shards.count == 2)
        #expect(topology.shards[0].slots == [0...99, 200...299])
        #expect(topology.shards[0].primary?.availabilityZone == "z1")
        #expect(topology.shards[0].replicas.map(\.address) == [NodeAddress(host: "10.0.0.4", port: 7003)])
        #expect(topology.shards[1].primary?.address == NodeAddress(host: "seed.example", port: 7001))
        #expect(throws: TopologyError.self) { try ClusterTopology(slotsReply: .array([.array([.integer(0)])]), queried: seed) }
        // A range whose primary's endpoint is unknown is left unserved; an unknown replica is skipped.
        let unknown = RESPValue.array([
            .array([.integer(0), .integer(99), node("?", 7000, "a")]),
            .array([.integer(100), .integer(199), node("10.0.0.2", 7001, "b"), node("?", 7004, "e")]),
        ])
        let partial = try ClusterTopology(slotsReply: unknown, queried: seed)
        #expect(partial.shards.count == 1 && partial.shards[0].slots == [100...199] && partial.shards[0].replicas.isEmpty)
    }
}
