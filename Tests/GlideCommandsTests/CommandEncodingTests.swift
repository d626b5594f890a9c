import GlideCommands
import Testing

func wire(_ command: some GlideCommand) -> String {
    var buffer = RESPCommandBuffer()
    command.encode(into: &buffer)
    return buffer.contiguousBytes.string.replacingCRLF
}

extension String {
    /// `\r\n` shown as spaces, so expected frames read on one line.
    var replacingCRLF: String { split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: " ") }
}

func token(_ wire: String) throws -> RESPToken { try RESPToken(validating: Bytes(wire)) }

@Suite struct CommandEncodingTests {
    @Test func get() {
        #expect(wire(GET("k", as: String.self)) == "*2 $3 GET $1 k ")
        #expect(wire(GET(Bytes([0xFF]), as: Bytes.self)) == "*2 $3 GET $1 \u{FFFD} ")
    }

    @Test func setWithEveryOption() {
        #expect(wire(SET("k", "v")) == "*3 $3 SET $1 k $1 v ")
        #expect(wire(SET("k", "v", condition: .onlyIfDoesNotExist, expiry: .seconds(10)))
                == "*6 $3 SET $1 k $1 v $2 NX $2 EX $2 10 ")
        #expect(wire(SET("k", 5, condition: .onlyIfExists, expiry: .milliseconds(1500)))
                == "*6 $3 SET $1 k $1 5 $2 XX $2 PX $4 1500 ")
        #expect(wire(SET("k", "v", condition: .onlyIfEqual("old"), expiry: .keepExisting))
                == "*6 $3 SET $1 k $1 v $4 IFEQ $3 old $7 KEEPTTL ")
        #expect(wire(SET("k", "v", expiry: .unixSeconds(1_700_000_000))) == "*5 $3 SET $1 k $1 v $4 EXAT $10 1700000000 ")
        #expect(wire(SET("k", "v", expiry: .unixMilliseconds(1))) == "*5 $3 SET $1 k $1 v $4 PXAT $1 1 ")
    }

    @Test func setRepliesDecodeToWhetherItWrote() throws {
        #expect(try SET("k", "v").decodeResponse(token("+OK\r\n")) == true)
        #expect(try SET("k", "v").decodeResponse(token("$-1\r\n")) == false)
        #expect(try SET("k", "v").decodeResponse(token("_\r\n")) == false)
    }

    @Test func counters() {
        #expect(wire(INCRBY("n")) == "*2 $4 INCR $1 n ")
        #expect(wire(INCRBY("n", by: -3)) == "*3 $6 INCRBY $1 n $2 -3 ")
    }

    @Test func multiKeyCommands() throws {
        #expect(wire(MGET(["a", "b"], as: String.self)) == "*3 $4 MGET $1 a $1 b ")
        #expect(try MGET(["a", "b"], as: String.self).decodeResponse(token("*2\r\n$1\r\n1\r\n$-1\r\n")) == ["1", nil])
        #expect(wire(MSET([(key: "a", value: "1"), (key: "b", value: "2")])) == "*5 $4 MSET $1 a $1 1 $1 b $1 2 ")
        #expect(wire(DEL(["a", "b", "c"])) == "*4 $3 DEL $1 a $1 b $1 c ")
        #expect(wire(EXISTS(["a"])) == "*2 $6 EXISTS $1 a ")
        #expect(wire(WATCH(["a"])) == "*2 $5 WATCH $1 a ")
        #expect(wire(UNWATCH()) == "*1 $7 UNWATCH ")
    }

    @Test func connectionAndServer() throws {
        #expect(wire(PING()) == "*1 $4 PING ")
        #expect(wire(PING("hi")) == "*2 $4 PING $2 hi ")
        #expect(wire(ECHO("x", as: String.self)) == "*2 $4 ECHO $1 x ")
        #expect(wire(SELECT(3)) == "*2 $6 SELECT $1 3 ")
        #expect(wire(INFO()) == "*1 $4 INFO ")
        #expect(wire(INFO([.server, .commandStats])) == "*3 $4 INFO $6 server $12 commandstats ")
        #expect(try INFO().decodeResponse(token("=13\r\ntxt:# Server\n\r\n")) == "# Server\n")
    }

    @Test func customCommand() throws {
        #expect(wire(CustomCommand(["CLIENT", "INFO"])) == "*2 $6 CLIENT $4 INFO ")
        #expect(try CustomCommand(["X"]).decodeResponse(token(":3\r\n")) == .integer(3))
    }
}
