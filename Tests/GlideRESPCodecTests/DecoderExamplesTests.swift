import GlideRESPCodec
import Testing

/// Decodes `wire` as exactly one frame.
func decodeOne(_ wire: String, decoder: RESPDecoder = RESPDecoder()) throws -> RESPValue {
    var decoder = decoder
    var buffer = Bytes(wire)
    let token = try #require(try decoder.decode(from: &buffer))
    #expect(buffer.readableBytes == 0)
    return RESPValue(token)
}

/// The examples of the RESP specification, each with the value it must decode to.
let specExamples: [(wire: String, value: RESPValue)] = [
    ("+OK\r\n", .simpleString("OK")),
    ("-ERR unknown command 'foobar'\r\n", .simpleError("ERR unknown command 'foobar'")),
    (
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        .simpleError("WRONGTYPE Operation against a key holding the wrong kind of value")
    ),
    (":0\r\n", .integer(0)),
    (":1000\r\n", .integer(1000)),
    (":-1000\r\n", .integer(-1000)),
    (":+5\r\n", .integer(5)),
    (":9223372036854775807\r\n", .integer(Int.max)),
    (":-9223372036854775808\r\n", .integer(Int.min)),
    ("$5\r\nhello\r\n", .bulkString("hello")),
    ("$0\r\n\r\n", .bulkString("")),
    ("$-1\r\n", .null),
    ("*0\r\n", .array([])),
    ("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", .array(["hello", "world"].map { .bulkString(Bytes($0)) })),
    ("*3\r\n:1\r\n:2\r\n:3\r\n", .array([.integer(1), .integer(2), .integer(3)])),
    (
        "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
        .array([.integer(1), .integer(2), .integer(3), .integer(4), .bulkString("hello")])
    ),
    ("*-1\r\n", .null),
    (
        "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
        .array([.array([.integer(1), .integer(2), .integer(3)]), .array([.simpleString("Hello"), .simpleError("World")])])
    ),
    ("*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n", .array([.bulkString("hello"), .null, .bulkString("world")])),
    ("_\r\n", .null),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    (",1.23\r\n", .double(1.23)),
    (",10\r\n", .double(10)),
    (",-1.5e3\r\n", .double(-1500)),
    (",inf\r\n", .double(.infinity)),
    (",-inf\r\n", .double(-.infinity)),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("!21\r\nSYNTAX invalid syntax\r\n", .bulkError("SYNTAX invalid syntax")),
    ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: "Some string")),
    (
        "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
        .map([
            RESPPair(key: .simpleString("first"), value: .integer(1)),
            RESPPair(key: .simpleString("second"), value: .integer(2)),
        ])
    ),
    (
        "~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n",
        .set([.simpleString("orange"), .simpleString("apple"), .boolean(true), .integer(100), .integer(999)])
    ),
    (
        "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
        .attributed(
            .array([.integer(2_039_123), .integer(9_543_892)]),
            attributes: [
                RESPPair(
                    key: .simpleString("key-popularity"),
                    value: .map([
                        RESPPair(key: .bulkString("a"), value: .double(0.1923)),
                        RESPPair(key: .bulkString("b"), value: .double(0.0012)),
                    ]))
            ])
    ),
    ("|0\r\n:1\r\n", .attributed(.integer(1), attributes: [])),
    (
        ">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n",
        .push([.bulkString("message"), .bulkString("channel"), .bulkString("hello")])
    ),
    ("$6\r\na\r\nb\0c\r\n", .bulkString(Bytes([0x61, 0x0D, 0x0A, 0x62, 0x00, 0x63]))),
]

@Suite(.timeLimit(.minutes(2))) struct DecoderExamplesTests {
    @Test(arguments: specExamples.indices)
    func decodesSpecificationExample(index: Int) throws {
        let example = specExamples[index]
        #expect(try decodeOne(example.wire) == example.value)
    }

    @Test func nanDecodesAsNaN() throws {
        guard case .double(let value) = try decodeOne(",nan\r\n") else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func decodesConsecutiveFramesFromOneBuffer() throws {
        var decoder = RESPDecoder()
        var buffer = Bytes("+OK\r\n:42\r\n$3\r\nfoo\r\n*1\r\n_\r\n")
        var values: [RESPValue] = []
        while let token = try decoder.decode(from: &buffer) { values.append(RESPValue(token)) }
        #expect(values == [.simpleString("OK"), .integer(42), .bulkString("foo"), .array([.null])])
        #expect(buffer.readableBytes == 0)
    }

    @Test func tokensAreSlicesOfTheReceiveBuffer() throws {
        var decoder = RESPDecoder()
        var buffer = Bytes("$5\r\nhello\r\n")
        let capacity = buffer.capacity
        let token = try #require(try decoder.decode(from: &buffer))
        let payload = try #require(token.stringBytes)
        #expect(payload == "hello")
        #expect(payload.capacity == capacity)  // same storage: nothing was copied
    }

    @Test func tokenAccessors() throws {
        var decoder = RESPDecoder()
        var buffer = Bytes("*3\r\n:7\r\n$2\r\nhi\r\n%1\r\n+k\r\n#t\r\n-NOAUTH Authentication required.\r\n")
        let array = try #require(try decoder.decode(from: &buffer))
        let elements = try #require(array.elements)
        #expect(elements.count == 3)
        let items = Array(elements)
        #expect(items[0].integerValue == 7)
        #expect(items[1].stringBytes == "hi")
        #expect(try [String: Bool](fromRESP: items[2]) == ["k": true])
        let error = try #require(try decoder.decode(from: &buffer))
        #expect(error.type == .simpleError)
        #expect(error.errorCode == "NOAUTH")
    }

    @Test func typedConversionsAcceptBothProtocolVersions() throws {
        func token(_ wire: String) throws -> RESPToken { try RESPToken(validating: Bytes(wire)) }
        #expect(try Double(fromRESP: token("$4\r\n1.25\r\n")) == 1.25)
        #expect(try Double(fromRESP: token(",1.25\r\n")) == 1.25)
        #expect(try Bool(fromRESP: token(":1\r\n")) == true)
        #expect(try Bool(fromRESP: token("#f\r\n")) == false)
        #expect(try Bool(fromRESP: token("#t\r\n")) == true)
        #expect(try Bool(fromRESP: token(":0\r\n")) == false)
        #expect(try Bool(fromRESP: token("+OK\r\n")) == true)
        #expect(try Bool(fromRESP: token("+ok\r\n")) == true)
        #expect(try Bool(fromRESP: token("|1\r\n+a\r\n+b\r\n+OK\r\n")) == true)
        #expect(throws: RESPConversionError.self) { try Bool(fromRESP: token("+OKAY\r\n")) }
        #expect(throws: RESPConversionError.self) { try Bool(fromRESP: token("+QUEUED\r\n")) }
        #expect(throws: RESPConversionError.self) { try Bool(fromRESP: token("-OK\r\n")) }
        #expect(throws: RESPConversionError.self) { try Bool(fromRESP: token("$2\r\nOK\r\n")) }
        #expect(try Bytes(fromRESP: token("|1\r\n+a\r\n+b\r\n$3\r\nabc\r\n")) == Bytes("abc"))
        #expect(try Bytes(fromRESP: token(":42\r\n")) == Bytes("42"))
        #expect(try [String: Int](fromRESP: token("*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n")) == ["a": 1, "b": 2])
        #expect(try [String: Int](fromRESP: token("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n")) == ["a": 1, "b": 2])
        #expect(try String?(fromRESP: token("$-1\r\n")) == nil)
        #expect(try String?(fromRESP: token("_\r\n")) == nil)
        #expect(try [String?](fromRESP: token("*2\r\n$1\r\nx\r\n$-1\r\n")) == ["x", nil])
        #expect(try String(fromRESP: token("=8\r\ntxt:text\r\n")) == "text")
        #expect(try Int(fromRESP: token("|1\r\n+a\r\n+b\r\n:5\r\n")) == 5)
        #expect(throws: RESPConversionError.self) { try Int(fromRESP: token("$3\r\nabc\r\n")) }
        let nested = #expect(throws: RESPConversionError.self) { try [Int](fromRESP: token("*1\r\n-ERR boom\r\n")) }
        #expect(nested?.serverMessage == "ERR boom")
    }

    @Test func elementRangesAndStringPayloadsWithoutElementTokens() throws {
        let token = try RESPToken(validating: Bytes("*5\r\n$3\r\nfoo\r\n+OK\r\n:1\r\n_\r\n$-1\r\n"))
        var frames: [String] = []
        var payloads: [String?] = []
        let count = token.forEachElementRange { frame, payload in
            frames.append(token.bytes.getSlice(at: frame.lowerBound, length: frame.count)!.string)
            payloads.append(payload.map { String(decoding: $0, as: UTF8.self) })
        }
        #expect(count == 5)
        #expect(frames == ["$3\r\nfoo\r\n", "+OK\r\n", ":1\r\n", "_\r\n", "$-1\r\n"])
        #expect(payloads == ["foo", "OK", nil, nil, nil])
        #expect(try RESPToken(validating: Bytes(":1\r\n")).forEachElementRange { _, _ in } == nil)
    }
}
