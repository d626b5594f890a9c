import GlideBuffers
import GlideCommands
import GlideRESPCodec
import Testing

/// The keys a generated command visits, as strings.
func visitedKeys(_ command: some GlideCommand) -> [String] {
    var keys: [String] = []
    command.forEachKey { keys.append($0.description) }
    return keys
}

/// The keys the routing table finds in the encoded command.
func tableKeys(_ command: some GlideCommand) throws -> [String] {
    var buffer = RESPCommandBuffer()
    command.encode(into: &buffer)
    let token = try RESPToken(validating: buffer.contiguousBytes)
    let arguments = try #require(token.elements).compactMap(\.stringBytes)
    let metadata = try #require(CommandTable.metadata(for: arguments))
    return metadata.keys(in: arguments).map(\.string)
}

/// A hand-written command that relies on the default, table-driven key lookup.
struct HandWrittenMGET: GlideCommand {
    typealias Response = RESPValue
    static var name: String { "MGET" }
    let keys: [String]
    func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand(["MGET"] + keys) }
}

@Suite(.timeLimit(.minutes(2))) struct KeyVisitTests {
    @Test func generatedKeysMatchTheKeySpecs() throws {
        let mset = MSET(data: [.init(key: "a", value: "1"), .init(key: "b", value: "2")])
        #expect(visitedKeys(mset) == ["a", "b"])
        #expect(try tableKeys(mset) == ["a", "b"])
        let commands: [(any GlideCommand, [String])] = [
            (GET("k"), ["k"]),
            (SET("k", "v", condition: .nx), ["k"]),
            (MGET(["a", "b", "c"]), ["a", "b", "c"]),
            (DEL(["a", "b"]), ["a", "b"]),
            (XREAD(streams: .init(keys: ["s1", "s2"], ids: ["0", "0"])), ["s1", "s2"]),
            (EVAL("return 1", keys: ["k1", "k2"], args: ["x"]), ["k1", "k2"]),
            (ZUNIONSTORE("d", ["a", "b"]), ["d", "a", "b"]),
            (LMOVE("src", "dst", wherefrom: .left, whereto: .right), ["src", "dst"]),
            (SORT("l", destination: "out"), ["l", "out"]),
            (MIGRATE("h", port: 1, keySelector: .key("k"), destinationDb: 0, timeout: 5), ["k"]),
            (MIGRATE("h", port: 1, keySelector: .emptyString, destinationDb: 0, timeout: 5, keys: ["a", "b"]), ["a", "b"]),
            (BLPOP(["a", "b"], timeout: 1), ["a", "b"]),
            (GEOSEARCHSTORE("dst", "src", by: .circle(.init(radius: 1, unit: .km))), ["dst", "src"]),
            (PING(), []),
            (CLIENT.LIST(), []),
            (OBJECT.ENCODING("k"), ["k"]),
        ]
        for (command, expected) in commands {
            #expect(visitedKeys(command) == expected, "\(type(of: command).name)")
            #expect(try tableKeys(command) == expected, "\(type(of: command).name)")
        }
    }

    @Test func shardedChannelsAreRoutedLikeKeys() {
        #expect(visitedKeys(SPUBLISH("news", "hi")) == ["news"])
        #expect(visitedKeys(SSUBSCRIBE(["a", "b"])) == ["a", "b"])
        #expect(visitedKeys(PUBLISH("news", "hi")) == [])
    }

    @Test func handWrittenCommandsFindTheirKeysThroughTheTable() {
        #expect(visitedKeys(HandWrittenMGET(keys: ["x", "y"])) == ["x", "y"])
        #expect(HandWrittenMGET.routing.requestPolicy == .multiShard)
        #expect(HandWrittenMGET.routing.isReadOnly)
        #expect(visitedKeys(CustomCommand(["HSET", "h", "f", "v"])) == ["h"])
        #expect(visitedKeys(CustomCommand(["NO.SUCH.COMMAND", "x"])) == [])
    }

    @Test func routingConstantsComeFromTheTips() {
        #expect(DBSIZE.routing == CommandRouting(requestPolicy: .allShards, responsePolicy: .aggregateSum, flags: [.fast, .readonly]))
        #expect(GET.routing.isReadOnly && !SET.routing.isReadOnly)
        #expect(SCRIPT.EXISTS.routing.responsePolicy == .aggregateLogicalAnd)
        // Typed: `decoding(as:)` must give a `Decoding<GET, String?>`, which routes as GET does.
        let decoding: Decoding<GET, String?> = GET("k").decoding(as: String?.self)
        #expect(type(of: decoding).routing == GET.routing)
        for metadata in CommandTable.all {
            _ = metadata  // every entry has a routing form
            #expect(CommandRouting(metadata).flags == metadata.flags)
        }
    }
}
