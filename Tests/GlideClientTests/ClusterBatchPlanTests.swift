import GlideBuffers
import GlideCommands
import GlideRESPCodec
import GlideRouter
import GlideTopology
import GlideTransport
import Testing

@testable import GlideClient

/// How a non-atomic cluster batch is laid out by node and its results put together, with no
/// socket: three primaries, each serving a third of the slots, and replies the test writes.
@Suite(.timeLimit(.minutes(2))) struct ClusterBatchPlanTests {
    static let primaries = [NodeAddress(host: "a", port: 1), NodeAddress(host: "b", port: 2), NodeAddress(host: "c", port: 3)]
    static let replica = NodeAddress(host: "r", port: 4)

    static func owner(_ slot: UInt16) -> NodeAddress { primaries[Int(slot) * 3 / Int(HashSlot.count)] }

    static var nodes: ClusterBatchPlan.Nodes {
        ClusterBatchPlan.Nodes(
            primary: { owner($0) }, primaries: { primaries }, all: { primaries + [replica] }, keyless: primaries[1])
    }

    /// A key served by primary `index`, the `number`th such.
    static func key(on index: Int, _ number: Int = 0) -> String {
        var found = 0
        for candidate in 0... {
            let key = "key-\(candidate)"
            guard owner(HashSlot.of(key)) == primaries[index] else { continue }
            if found == number { return key }
            found += 1
        }
        fatalError("unreachable")
    }

    static func token(_ encoded: String) throws -> RESPToken { try RESPToken(validating: Bytes(encoded)) }

    /// The command each piece sends, as its arguments.
    static func arguments(_ plan: ClusterBatchPlan, _ piece: Int) throws -> [String] {
        var buffer = RESPCommandBuffer()
        plan.write(piece, into: &buffer)
        let value = RESPValue(try RESPToken(validating: buffer.contiguousBytes))
        guard case .array(let elements) = value else { return [] }
        return elements.compactMap(\.stringValue)
    }

    @Test func aCommandForSeveralNodesGoesToEachInTheBatchsOrder() throws {
        let (a, b, c) = (Self.key(on: 0), Self.key(on: 1), Self.key(on: 2))
        var batch = ClusterBatch(isAtomic: false)
        batch.add(SET(a, "1"))
        batch.add(MGET([c, a, b]))
        batch.add(DBSIZE())
        batch.add(ECHO("hi"))
        batch.customCommand(["DEL", b, c])
        batch.add(INFO())
        let plan = try ClusterBatchPlan(batch.contents, fixed: nil, nodes: Self.nodes)
        // SET 1, MGET 3 parts, DBSIZE on 3 primaries, ECHO 1, DEL 2 parts, INFO on 3 primaries.
        #expect(plan.pieces.count == 13)
        #expect(plan.commands.map(\.pieces.count) == [1, 3, 3, 1, 2, 3])
        // Each node's pieces in the batch's order: the SET before the MGET's part for the same key.
        let onA = try #require(plan.groups.first { $0.node == Self.primaries[0] })
        #expect(try onA.pieces.map { try Self.arguments(plan, $0) } == [["SET", a, "1"], ["MGET", a], ["DBSIZE"], ["INFO"]])
        let onB = try #require(plan.groups.first { $0.node == Self.primaries[1] })
        #expect(try onB.pieces.map { try Self.arguments(plan, $0) } == [["MGET", b], ["DBSIZE"], ["ECHO", "hi"], ["DEL", b], ["INFO"]])
        #expect(!plan.groups.contains { $0.node == Self.replica }, "INFO goes to primaries only")
        // A split part is redirected by its slot, a node's copy stays on its node.
        #expect(plan.pieces[1].target == .slot(HashSlot.of(c)) || plan.pieces[1].target == .slot(HashSlot.of(a)))
        #expect(plan.pieces[4].target == .node(Self.primaries[0]))

        // The replies, by piece: the MGET parts in slot order come back in key order, DBSIZE and
        // DEL sum, INFO is a map by node.
        var replies = [BatchResults.Entry?](repeating: nil, count: plan.pieces.count)
        for (index, piece) in plan.pieces.enumerated() {
            let arguments = try Self.arguments(plan, index)
            let encoded: String =
                switch arguments[0] {
                case "SET": "+OK\r\n"
                case "MGET": "*1\r\n$3\r\nv-\(arguments[1].suffix(1))\r\n"
                case "DBSIZE": ":\(index)\r\n"
                case "ECHO": "$2\r\nhi\r\n"
                case "DEL": ":1\r\n"
                default: "$\(piece.node.host.count)\r\n\(piece.node.host)\r\n"
                }
            replies[index] = .reply(try Self.token(encoded))
        }
        let entries = plan.entries(from: replies.map { $0! })
        #expect(entries.count == 6)
        let values = entries.map { entry -> RESPValue? in
            if case .reply(let token) = entry { return RESPValue(token) }
            return nil
        }
        let expectedMGET: [RESPValue] = [c, a, b].map { .bulkString(Bytes("v-\($0.suffix(1))")) }
        #expect(values[1] == .array(expectedMGET))
        let dbsizes = plan.commands[2].pieces.reduce(0, +)
        #expect(values[2] == .integer(dbsizes))
        #expect(values[3] == .bulkString("hi"))
        #expect(values[4] == .integer(2))
        guard case .map(let byNode)? = values[5] else {
            Issue.record("INFO is a map by node: \(String(describing: values[5]))")
            return
        }
        #expect(
            Set(byNode.map { $0.key.stringValue ?? "" }) == Set(Self.primaries.map(\.description)))
        #expect(byNode.allSatisfy { pair in pair.key.stringValue?.hasPrefix(pair.value.stringValue ?? "?") == true })
    }

    @Test func aPieceThatFailedIsItsCommandsResult() throws {
        let (a, c) = (Self.key(on: 0), Self.key(on: 2))
        var batch = ClusterBatch(isAtomic: false)
        batch.add(MGET([a, c]))
        batch.add(DBSIZE())
        let plan = try ClusterBatchPlan(batch.contents, fixed: nil, nodes: Self.nodes)
        var replies: [BatchResults.Entry] = []
        for index in plan.pieces.indices {
            switch index {
            case 1: replies.append(.reply(try Self.token("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")))
            case 3: replies.append(.failure(GlideError(.connectionClosed, "lost")))
            default: replies.append(.reply(try Self.token(index == 0 ? "*1\r\n$1\r\nx\r\n" : ":1\r\n")))
            }
        }
        let entries = plan.entries(from: replies)
        guard case .reply(let error) = entries[0], case .failure(let lost) = entries[1] else {
            Issue.record("\(entries)")
            return
        }
        #expect(error.type.isError)
        #expect(lost.code == .connectionClosed)
    }

    @Test func aRoutedBatchSendsEveryCommandWholeToItsNode() throws {
        let (a, c) = (Self.key(on: 0), Self.key(on: 2))
        var batch = ClusterBatch(isAtomic: false)
        batch.add(MGET([a, c]))
        batch.add(DBSIZE())
        let plan = try ClusterBatchPlan(batch.contents, fixed: Self.primaries[2], nodes: Self.nodes)
        #expect(plan.pieces.count == 2)
        #expect(plan.groups.map(\.node) == [Self.primaries[2]])
        #expect(try Self.arguments(plan, 0) == ["MGET", a, c])
    }

    @Test func aSlotNoNodeServesIsRefusedBeforeSending() throws {
        var batch = ClusterBatch(isAtomic: false)
        batch.add(MGET([Self.key(on: 0), Self.key(on: 2)]))
        var uncovered = Self.nodes
        uncovered.primary = { Self.owner($0) == Self.primaries[2] ? nil : Self.owner($0) }
        let error = #expect(throws: GlideError.self) { try ClusterBatchPlan(batch.contents, fixed: nil, nodes: uncovered) }
        #expect(error?.code == .routing)
    }
}
