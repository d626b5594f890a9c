import GlideCommands
import Testing

/// The wire form of `command`, with `\r\n` shown as spaces.
func wire(_ command: some GlideCommand) -> String {
    var buffer = RESPCommandBuffer()
    command.encode(into: &buffer)
    return buffer.contiguousBytes.string.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: " ")
}

func token(_ wire: String) throws -> RESPToken { try RESPToken(validating: Bytes(wire)) }

@Suite(.timeLimit(.minutes(2))) struct CommandEncodingTests {
    @Test func plainArguments() {
        #expect(wire(GET("k")) == "*2 $3 GET $1 k ")
        var binary = RESPCommandBuffer()
        GET(Bytes([0xFF, 0x00])).encode(into: &binary)
        #expect(Array(binary.contiguousBytes) == Array("*2\r\n$3\r\nGET\r\n$2\r\n".utf8) + [0xFF, 0x00, 0x0D, 0x0A])
        #expect(wire(INCRBY("n", increment: -3)) == "*3 $6 INCRBY $1 n $2 -3 ")
        #expect(wire(INCRBYFLOAT("n", increment: 2.5)) == "*3 $11 INCRBYFLOAT $1 n $3 2.5 ")
        #expect(wire(MGET(["a", "b"])) == "*3 $4 MGET $1 a $1 b ")
        #expect(wire(DEL(["a", "b", "c"])) == "*4 $3 DEL $1 a $1 b $1 c ")
        #expect(wire(UNWATCH()) == "*1 $7 UNWATCH ")
    }

    @Test func oneOfsAndPureTokens() {
        #expect(wire(SET("k", "v")) == "*3 $3 SET $1 k $1 v ")
        #expect(wire(SET("k", "v", condition: .nx, expiration: .seconds(10))) == "*6 $3 SET $1 k $1 v $2 NX $2 EX $2 10 ")
        #expect(
            wire(SET("k", "v", condition: .comparisonValue("old"), get: true, expiration: .keepttl))
                == "*7 $3 SET $1 k $1 v $4 IFEQ $3 old $3 GET $7 KEEPTTL ")
        #expect(wire(SET("k", 5, expiration: .unixTimeMilliseconds(1))) == "*5 $3 SET $1 k $1 5 $4 PXAT $1 1 ")
        #expect(wire(EXPIRE("k", seconds: 5, condition: .gt)) == "*4 $6 EXPIRE $1 k $1 5 $2 GT ")
        // Distance units go in lower case, which servers before Redis 7.0 require.
        #expect(wire(GEODIST("g", "a", "b", unit: .km)) == "*5 $7 GEODIST $1 g $1 a $1 b $2 km ")
    }

    @Test func blocksAndRepeatedBlocks() {
        #expect(wire(MSET(data: [.init(key: "a", value: "1"), .init(key: "b", value: "2")])) == "*5 $4 MSET $1 a $1 1 $1 b $1 2 ")
        #expect(
            wire(ZADD("z", condition: .nx, change: true, data: [.init(score: 1.5, member: "m")]))
                == "*6 $4 ZADD $1 z $2 NX $2 CH $3 1.5 $1 m ")
        #expect(
            wire(ZRANGE("z", 0, -1, limit: .init(offset: 2, count: 3), withscores: true))
                == "*8 $6 ZRANGE $1 z $1 0 $2 -1 $5 LIMIT $1 2 $1 3 $10 WITHSCORES ")
        #expect(
            wire(
                XADD(
                    "s", trim: .init(strategy: .maxlen, operator: .approximately, threshold: 100), idSelector: .autoId,
                    data: [.init(field: "f", value: "v")]))
                == "*8 $4 XADD $1 s $6 MAXLEN $1 ~ $3 100 $1 * $1 f $1 v ")
    }

    @Test func tokenOnceAndTokenEach() {
        // WEIGHTS once before all weights; GET before each pattern (multiple_token).
        #expect(
            wire(ZUNIONSTORE("d", ["a", "b"], weights: [1, 0.5]))
                == "*8 $11 ZUNIONSTORE $1 d $1 2 $1 a $1 b $7 WEIGHTS $3 1.0 $3 0.5 ")
        #expect(wire(SORT("l", getPatterns: ["#", "w_*"])) == "*6 $4 SORT $1 l $3 GET $1 # $3 GET $3 w_* ")
        #expect(
            wire(MIGRATE("h", port: 1, keySelector: .emptyString, destinationDb: 0, timeout: 5, keys: ["a", "b"]))
                == "*9 $7 MIGRATE $1 h $1 1 $0  $1 0 $1 5 $4 KEYS $1 a $1 b ")
    }

    @Test func repeatedTokensAndNestedOptionalBlocks() {
        #expect(
            wire(BITFIELD_RO("k", getBlocks: [.init(encoding: "u8", offset: 0), .init(encoding: "i4", offset: 8)]))
                == "*8 $11 BITFIELD_RO $1 k $3 GET $2 u8 $1 0 $3 GET $2 i4 $1 8 ")
        #expect(
            wire(MODULE.LOADEX("/m.so", configs: [.init(name: "a", value: "1"), .init(name: "b", value: "2")], args: ["x", "y"]))
                == "*12 $6 MODULE $6 LOADEX $5 /m.so $6 CONFIG $1 a $1 1 $6 CONFIG $1 b $1 2 $4 ARGS $1 x $1 y ")
        #expect(
            wire(CLIENT.TRACKING(status: .on, prefixes: ["a:", "b:"], bcast: true))
                == "*8 $6 CLIENT $8 TRACKING $2 ON $6 PREFIX $2 a: $6 PREFIX $2 b: $5 BCAST ")
        #expect(
            wire(HELLO(arguments: .init(protover: 3, auth: .init(username: "u", password: "p"), clientname: "n")))
                == "*7 $5 HELLO $1 3 $4 AUTH $1 u $1 p $7 SETNAME $1 n ")
        #expect(wire(HELLO()) == "*1 $5 HELLO ")
    }

    @Test func countsAreComputed() {
        #expect(wire(EVAL("return 1", keys: ["k1", "k2"], args: ["x"])) == "*6 $4 EVAL $8 return 1 $1 2 $2 k1 $2 k2 $1 x ")
        #expect(wire(EVAL("return 1")) == "*3 $4 EVAL $8 return 1 $1 0 ")
        #expect(
            wire(HEXPIRE("h", seconds: 10, fields: .init(fields: ["a", "b"])))
                == "*7 $7 HEXPIRE $1 h $2 10 $6 FIELDS $1 2 $1 a $1 b ")
        #expect(wire(LMPOP(["a", "b"], where: .left, count: 2)) == "*7 $5 LMPOP $1 2 $1 a $1 b $4 LEFT $5 COUNT $1 2 ")
        // A computed count that follows a token writes the token first.
        let triangle = GEOSEARCH.By.polygon(
            .init(vertices: [
                .init(longitude: 1, latitude: 2), .init(longitude: 3, latitude: 4),
                .init(longitude: 5, latitude: 6),
            ]))
        #expect(
            wire(GEOSEARCH("g", by: triangle))
                == "*10 $9 GEOSEARCH $1 g $9 BYPOLYGON $1 3 $3 1.0 $3 2.0 $3 3.0 $3 4.0 $3 5.0 $3 6.0 ")
    }

    @Test func cursorsAndBitOffsetsAreStrings() {
        // Cursors are unsigned 64-bit and may exceed Int.max; bit offsets may be `#n` (units of the type's width).
        #expect(wire(SCAN("18446744073709551615", count: 10)) == "*4 $4 SCAN $20 18446744073709551615 $5 COUNT $2 10 ")
        #expect(
            wire(BITFIELD_RO("k", getBlocks: [.init(encoding: "u8", offset: "#1")]))
                == "*5 $11 BITFIELD_RO $1 k $3 GET $2 u8 $2 #1 ")
    }

    @Test func subcommandsAndNestedOneOfs() {
        #expect(wire(CLIENT.SETNAME("app")) == "*3 $6 CLIENT $7 SETNAME $3 app ")
        #expect(wire(CONFIG.GET(["maxmemory", "port"])) == "*4 $6 CONFIG $3 GET $9 maxmemory $4 port ")
        #expect(
            wire(CLIENT.KILL(filter: .newFormats([.clientIds([7, 8]), .clientType(.pubsub), .skipme(.no)])))
                == "*9 $6 CLIENT $4 KILL $2 ID $1 7 $1 8 $4 TYPE $6 PUBSUB $6 SKIPME $2 NO ")
        #expect(wire(CLIENT.KILL(filter: .oldFormat("127.0.0.1:1"))) == "*3 $6 CLIENT $4 KILL $11 127.0.0.1:1 ")
        #expect(
            wire(XGROUP.CREATE("s", "g", idSelector: .newId, mkstream: true))
                == "*6 $6 XGROUP $6 CREATE $1 s $1 g $1 $ $8 MKSTREAM ")
        #expect(wire(COMMAND()) == "*1 $7 COMMAND ")
        #expect(wire(COMMAND.COUNT()) == "*2 $7 COMMAND $5 COUNT ")
    }

    @Test func blockingCommandsCarryTheirTimeout() {
        #expect(BLPOP(["a"], timeout: 1.5).blockingTimeout == .milliseconds(1500))
        #expect(BLPOP(["a"], timeout: 0).blockingTimeout == .zero)
        #expect(WAIT(numreplicas: 1, timeout: 250).blockingTimeout == .milliseconds(250))
        #expect(XREAD(streams: .init(keys: ["s"], ids: ["$"])).blockingTimeout == nil)
        #expect(XREAD(milliseconds: 100, streams: .init(keys: ["s"], ids: ["$"])).blockingTimeout == .milliseconds(100))
        #expect(GET("k").blockingTimeout == nil)
    }

    @Test func blockingTimeoutsOfCommandsGivenAsArguments() {
        func timeout(_ words: [String]) -> Duration? { CommandTable.blockingTimeout(for: words.map { Bytes($0) }) }
        #expect(timeout(["blpop", "a", "b", "1.5"]) == .milliseconds(1500))
        #expect(timeout(["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"]) == .zero)
        #expect(timeout(["BLMPOP", "2", "1", "a", "LEFT"]) == .seconds(2))
        #expect(timeout(["WAIT", "1", "250"]) == .milliseconds(250))
        #expect(timeout(["XREAD", "block", "100", "STREAMS", "s", "$"]) == .milliseconds(100))
        #expect(timeout(["XREAD", "STREAMS", "s", "0"]) == nil)
        #expect(timeout(["GET", "k"]) == nil)
        #expect(timeout(["BLPOP", "a", "soon"]) == nil)
    }

    @Test func blockingTimeoutsAreClampedNotTrapped() {
        #expect(BlockingTimeout.seconds(-1) == .zero)
        #expect(BlockingTimeout.seconds(.nan) == .zero)
        #expect(BlockingTimeout.seconds(.infinity) == .seconds(1_000_000_000))
        #expect(BlockingTimeout.seconds(1e300) == .seconds(1_000_000_000))
        #expect(BlockingTimeout.milliseconds(-5) == .zero)
        #expect(BlockingTimeout.milliseconds(.max) == .milliseconds(Int64.max))
    }

    @Test func connectionAffectingCommandsSayHow() {
        #expect(SUBSCRIBE.multiplexingRefusal != nil && PSUBSCRIBE.multiplexingRefusal != nil)
        #expect(MONITOR.multiplexingRefusal != nil && RESET.multiplexingRefusal != nil)
        #expect(CLIENT.REPLY.multiplexingRefusal != nil)
        #expect(GET.multiplexingRefusal == nil && PUBLISH.multiplexingRefusal == nil)
        #expect(SELECT(index: 3).selectedDatabase == 3 && GET("k").selectedDatabase == nil)
        #expect(SELECT(index: 3).decoding(as: String.self).selectedDatabase == 3)
        #expect(CommandTable.multiplexingRefusal(for: [Bytes("subscribe"), Bytes("c")]) != nil)
        #expect(CommandTable.multiplexingRefusal(for: [Bytes("CLIENT"), Bytes("reply"), Bytes("OFF")]) != nil)
        #expect(CommandTable.multiplexingRefusal(for: [Bytes("CLIENT"), Bytes("INFO")]) == nil)
    }

    @Test func typedRepliesDecode() throws {
        #expect(try GET("k").decodeResponse(token("$2\r\nhi\r\n")) == Bytes("hi"))
        #expect(try GET("k").decodeResponse(token("_\r\n")) == nil)
        #expect(try HGETALL("h").decodeResponse(token("%1\r\n$1\r\nf\r\n$1\r\nv\r\n")) == [Bytes("f"): Bytes("v")])
        #expect(try SISMEMBER("s", "m").decodeResponse(token(":1\r\n")) == true)
        #expect(try ZSCORE("z", "m").decodeResponse(token(",1.5\r\n")) == 1.5)
        #expect(try ZSCORE("z", "m").decodeResponse(token("$3\r\n1.5\r\n")) == 1.5)
        let page = try SCAN("0").decodeResponse(token("*2\r\n$2\r\n17\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"))
        #expect(page.cursor == "17" && page.elements == ["a", "b"] && !page.isComplete)
        let entries = try XRANGE("s", "-", "+").decodeResponse(token("*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"))
        #expect(entries.first?.id == "1-0" && entries.first?["f"] == "v")
        #expect(try GET("k").decoding(as: String?.self).decodeResponse(token("$2\r\nhi\r\n")) == "hi")
        #expect(try GET("k").decoding(as: Int?.self).decodeResponse(token("$2\r\n42\r\n")) == 42)
        #expect(try GET("k").decoding(as: Int?.self).decodeResponse(token("_\r\n")) == nil)
        let scored = ZRANGE("z", 0, -1, withscores: true).decoding(as: ScoredMembers.self)
        #expect(try scored.decodeResponse(token("*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n")).map(\.score) == [1, 2.5])
        #expect(try scored.decodeResponse(token("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n")).map(\.member) == ["a", "b"])
    }

    @Test func customCommand() throws {
        #expect(wire(CustomCommand(["CLIENT", "INFO"])) == "*2 $6 CLIENT $4 INFO ")
        #expect(try CustomCommand(["X"]).decodeResponse(token(":3\r\n")) == .integer(3))
    }
}
