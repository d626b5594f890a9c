import GlideBuffers
import GlideCommands
import GlideRESPCodec
import GlideRouter
import GlideTopology
import Testing

@Suite(.timeLimit(.minutes(2))) struct AggregationTests {
    let error = RESPValue.simpleError("ERR boom")

    func aggregate(_ replies: [RESPValue], _ aggregation: ResponseAggregation) throws -> RESPValue {
        try Router.aggregate(replies, by: aggregation)
    }

    @Test func numericPolicies() throws {
        #expect(try aggregate([.integer(3), .integer(4), .integer(5)], .sum) == .integer(12))
        #expect(try aggregate([.integer(3), .integer(1), .integer(5)], .minimum) == .integer(1))
        #expect(try aggregate([.integer(3), .integer(1), .integer(5)], .maximum) == .integer(5))
        // WAITAOF replies [local, replicas] per node: element by element.
        #expect(
            try aggregate([.array([.integer(1), .integer(2)]), .array([.integer(0), .integer(3)])], .minimum)
                == .array([.integer(0), .integer(2)]))
        #expect(throws: AggregationError.self) { try aggregate([.integer(1), .bulkString("x")], .sum) }
        #expect(throws: AggregationError.self) { try aggregate([.array([.integer(1)]), .array([])], .maximum) }
    }

    @Test func logicalPolicies() throws {
        let a = RESPValue.array([.integer(1), .integer(1), .integer(0)])
        let b = RESPValue.array([.integer(1), .integer(0), .integer(0)])
        #expect(try aggregate([a, b], .logicalAnd) == .array([.integer(1), .integer(0), .integer(0)]))
        #expect(try aggregate([a, b], .logicalOr) == .array([.integer(1), .integer(1), .integer(0)]))
        #expect(try aggregate([.boolean(true), .integer(1)], .logicalAnd) == .integer(1))
        #expect(try aggregate([.boolean(false), .integer(1)], .logicalOr) == .integer(1))
        #expect(try aggregate([.boolean(false), .integer(0)], .logicalOr) == .integer(0))
    }

    @Test func successPolicies() throws {
        #expect(try aggregate([.simpleString("OK"), .simpleString("OK")], .allSucceeded) == .simpleString("OK"))
        #expect(try aggregate([.simpleString("OK"), error], .allSucceeded) == error)
        #expect(try aggregate([.integer(1), error, .integer(2)], .sum) == error)
        #expect(try aggregate([error, .simpleString("OK")], .oneSucceeded) == .simpleString("OK"))
        #expect(try aggregate([error, .simpleError("ERR last")], .oneSucceeded) == .simpleError("ERR last"))
        #expect(try aggregate([.null, error, .bulkString("k"), .bulkString("j")], .firstNonNull) == .bulkString("k"))
        #expect(try aggregate([.null, .null], .firstNonNull) == .null)
        #expect(try aggregate([.null, error], .firstNonNull) == error)
        #expect(throws: AggregationError.self) { try aggregate([], .sum) }
        #expect(throws: AggregationError.self) { try aggregate([.integer(1)], .perNode) }
    }

    @Test func arraysAndMapsCombine() throws {
        #expect(
            try aggregate([.array([.bulkString("a")]), .array([]), .array([.bulkString("b"), .bulkString("c")])], .combineArrays)
                == .array([.bulkString("a"), .bulkString("b"), .bulkString("c")]))
        let map1 = RESPValue.map([
            RESPPair(key: .bulkString("c1"), value: .integer(2)), RESPPair(key: .bulkString("c2"), value: .integer(0)),
        ])
        let map2 = RESPValue.map([
            RESPPair(key: .bulkString("c1"), value: .integer(1)), RESPPair(key: .bulkString("c3"), value: .integer(4)),
        ])
        #expect(
            try aggregate([map1, map2], .combineMaps)
                == .map([
                    RESPPair(key: .bulkString("c1"), value: .integer(3)), RESPPair(key: .bulkString("c2"), value: .integer(0)),
                    RESPPair(key: .bulkString("c3"), value: .integer(4)),
                ]))
        let flat = RESPValue.array([.bulkString("c1"), .integer(5)])
        #expect(try aggregate([flat, flat], .combineMaps) == .array([.bulkString("c1"), .integer(10)]))
        #expect(throws: AggregationError.self) { try aggregate([.integer(1)], .combineMaps) }
    }

    func token(_ text: String) throws -> RESPToken { try RESPToken(validating: Bytes(text)) }

    @Test func splitRepliesReturnInKeyOrderFromTheirTokens() throws {
        // MGET a foo {a}x b: parts in slot order [b], [foo], [a, {a}x].
        let metadata = try #require(CommandTable.metadata(named: "MGET"))
        let split = try #require(Router.splitBySlot(encoded(["MGET", "a", "foo", "{a}x", "b"]), metadata: metadata))
        let replies = [try token("*1\r\n$1\r\nB\r\n"), try token("*1\r\n$3\r\nFOO\r\n"), try token("*2\r\n$1\r\nA\r\n_\r\n")]
        let combined = try Router.reassemble(replies, of: split)
        #expect(combined.bytes.string == "*4\r\n$1\r\nA\r\n$3\r\nFOO\r\n_\r\n$1\r\nB\r\n")
        #expect(RESPValue(combined) == .array([.bulkString("A"), .bulkString("FOO"), .null, .bulkString("B")]))
        // The first error reply is the answer; a part with the wrong count is refused.
        let failure = try token("-ERR boom\r\n")
        #expect(try Router.reassemble([replies[0], failure, replies[2]], of: split) == failure)
        #expect(throws: AggregationError.self) { try Router.reassemble([replies[0], replies[0], replies[0]], of: split) }
        #expect(throws: AggregationError.self) { try Router.reassemble([replies[0]], of: split) }
    }

    @Test func simplePoliciesCombineFromTokens() throws {
        let one = try token(":1\r\n")
        let two = try token(":2\r\n")
        let ok = try token("+OK\r\n")
        let failure = try token("-ERR boom\r\n")
        #expect(try Router.aggregate(tokens: [one, two, two], by: .sum)?.bytes.string == ":5\r\n")
        #expect(try Router.aggregate(tokens: [one, failure], by: .sum) == failure)
        #expect(throws: AggregationError.self) { try Router.aggregate(tokens: [one, ok], by: .sum) }
        #expect(try Router.aggregate(tokens: [ok, ok], by: .allSucceeded) == ok)
        #expect(try Router.aggregate(tokens: [ok, failure], by: .allSucceeded) == failure)
        #expect(try Router.aggregate(tokens: [failure, ok], by: .oneSucceeded) == ok)
        // Others are combined as values.
        #expect(try Router.aggregate(tokens: [one, two], by: .maximum) == nil)
        #expect(try Router.aggregate(tokens: [one, two], by: .combineArrays) == nil)
    }
}

@Suite(.timeLimit(.minutes(2))) struct ReadFromTests {
    let shard = SlotMap.Shard(
        primary: NodeAddress(host: "p", port: 1), primaryZone: "az1",
        replicas: [NodeAddress(host: "r1", port: 1), NodeAddress(host: "r2", port: 1), NodeAddress(host: "r3", port: 1)],
        replicaZones: ["az2", "az1", "az2"])

    func hosts(_ readFrom: ReadFrom, az: String?, in shard: SlotMap.Shard? = nil) -> [String] {
        (0..<4).map { readFrom.node(in: shard ?? self.shard, clientAZ: az, rotation: $0).host }
    }

    @Test func strategiesPickTheExpectedNodes() {
        #expect(hosts(.primary, az: "az2") == ["p", "p", "p", "p"])
        #expect(hosts(.preferReplica, az: nil) == ["r1", "r2", "r3", "r1"])
        #expect(hosts(.azAffinity, az: "az2") == ["r1", "r3", "r1", "r3"])
        #expect(hosts(.azAffinity, az: "az1") == ["r2", "r2", "r2", "r2"])
        #expect(hosts(.azAffinity, az: "az9") == ["r1", "r2", "r3", "r1"])
        #expect(hosts(.azAffinity, az: nil) == ["r1", "r2", "r3", "r1"])
        let lonely = SlotMap.Shard(primary: NodeAddress(host: "p", port: 1), primaryZone: "az1")
        #expect(hosts(.preferReplica, az: nil, in: lonely) == ["p", "p", "p", "p"])
        #expect(hosts(.azAffinityReplicasAndPrimary, az: "az1", in: lonely) == ["p", "p", "p", "p"])
        let remote = SlotMap.Shard(
            primary: NodeAddress(host: "p", port: 1), primaryZone: "az1",
            replicas: [NodeAddress(host: "r1", port: 1)], replicaZones: ["az2"])
        #expect(hosts(.azAffinityReplicasAndPrimary, az: "az1", in: remote) == ["p", "p", "p", "p"])
        #expect(hosts(.azAffinity, az: "az1", in: remote) == ["r1", "r1", "r1", "r1"])
        #expect(ReadFrom.preferReplica.node(in: shard, clientAZ: nil, rotation: -1).host == "r1")
    }

    /// The replica indices chosen over four turns when only `usable` replicas may be picked
    /// (`-` for the primary).
    func picks(_ readFrom: ReadFrom, az: String?, usable: Set<Int>) -> [String] {
        (0..<4).map { turn in
            readFrom.replicaIndex(in: shard, clientAZ: az, rotation: turn, usable: { usable.contains($0) }).map(String.init) ?? "-"
        }
    }

    @Test func replicasThatAreDownAreSkippedInTheSameOrderOfPreference() {
        #expect(picks(.preferReplica, az: nil, usable: [0, 2]) == ["0", "2", "0", "2"])
        #expect(picks(.preferReplica, az: nil, usable: []) == ["-", "-", "-", "-"])
        // The local replica (r2, az1) is down: any other replica before the primary...
        #expect(picks(.azAffinity, az: "az1", usable: [0, 2]) == ["0", "2", "0", "2"])
        // ...unless the primary is local and the strategy allows it.
        #expect(picks(.azAffinityReplicasAndPrimary, az: "az1", usable: [0, 2]) == ["-", "-", "-", "-"])
        // One of two local replicas is down: the other one.
        #expect(picks(.azAffinity, az: "az2", usable: [1, 2]) == ["2", "2", "2", "2"])
    }
}
