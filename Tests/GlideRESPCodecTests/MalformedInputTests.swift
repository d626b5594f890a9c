import GlideRESPCodec
import Testing

@Suite(.timeLimit(.minutes(2))) struct MalformedInputTests {
    static let cases: [(wire: String, kind: RESPDecodeError.Kind)] = [
        ("?what\r\n", .invalidTypeByte),
        ("hello\r\n", .invalidTypeByte),
        ("$-2\r\n", .invalidLength),
        ("$abc\r\n", .invalidLength),
        ("*-5\r\n", .invalidLength),
        ("%-1\r\n", .invalidLength),
        ("!-1\r\n", .invalidLength),
        ("$99999999999999999999\r\n", .invalidLength),
        ("$1073741824\r\n", .lengthTooLarge),
        ("*2147483648\r\n", .lengthTooLarge),
        ("$123456789012345678901234567890", .invalidLength),
        ("+OK\n", .missingCRLF),
        ("\n", .invalidTypeByte),
        ("+\n", .missingCRLF),
        ("$3\r\nfooXY", .missingCRLF),
        ("$3\r\nfoo\n\r", .missingCRLF),
        (":12a\r\n", .invalidInteger),
        (":\r\n", .invalidInteger),
        (":9223372036854775808\r\n", .invalidInteger),
        (",1.2.3\r\n", .invalidDouble),
        (",\r\n", .invalidDouble),
        (",1e\r\n", .invalidDouble),
        ("#x\r\n", .invalidBoolean),
        ("#tt\r\n", .invalidBoolean),
        ("(12a\r\n", .invalidBigNumber),
        ("_x\r\n", .invalidNull),
        ("=3\r\ntxt\r\n", .invalidVerbatimString),
        ("=5\r\ntxt-x\r\n", .invalidVerbatimString),
        ("*1\r\n?\r\n", .invalidTypeByte),
        (String(repeating: "*1\r\n", count: 101) + ":1\r\n", .nestingTooDeep),
    ]

    @Test(arguments: cases.indices)
    func malformedInputThrowsItsKind(index: Int) {
        let example = Self.cases[index]
        var decoder = RESPDecoder()
        var buffer = Bytes(example.wire)
        let error = #expect(throws: RESPDecodeError.self) { _ = try decoder.decode(from: &buffer) }
        #expect(error?.kind == example.kind, "\(example.wire.debugDescription): \(String(describing: error))")
        #expect(error?.description.hasPrefix("malformed RESP:") == true)
    }

    /// Found by the fuzzer (`Corpus/resp/crash-leading-zeros`): a length padded with zeros past
    /// the widest `Int` was accepted when its line arrived whole and refused when it arrived in
    /// pieces. Both ways refuse it now, and the widest valid line passes both ways.
    @Test func aPaddedLengthIsRefusedHoweverTheReadsSplit() throws {
        let padded = "*" + String(repeating: "0", count: 21) + "\r\n"
        for split in [false, true] {
            var decoder = RESPDecoder()
            var buffer = Bytes()
            let error = #expect(throws: RESPDecodeError.self) {
                for byte in padded.utf8 where split {
                    buffer.writeBytes([byte])
                    _ = try decoder.decode(from: &buffer)
                }
                if !split {
                    buffer.writeBytes(Array(padded.utf8))
                    _ = try decoder.decode(from: &buffer)
                }
            }
            #expect(error?.kind == .invalidLength, "split: \(split)")
        }
        #expect(try decodeOne(":-9223372036854775808\r\n") == .integer(.min))
        #expect(try decodeOne("*+0000000000000000003\r\n:1\r\n:2\r\n:3\r\n") == .array([.integer(1), .integer(2), .integer(3)]))
    }

    @Test func depthLimitIsConfigurableAndExact() throws {
        let nested = String(repeating: "*1\r\n", count: 3) + ":1\r\n"
        #expect(throws: RESPDecodeError.self) { try decodeOne(nested, decoder: RESPDecoder(maximumDepth: 2)) }
        #expect(try decodeOne(nested, decoder: RESPDecoder(maximumDepth: 3)) == .array([.array([.array([.integer(1)])])]))
    }

    /// Decodes `wire` with a `limit`-byte frame limit, whole and then a byte at a time, and
    /// expects both ways to end alike; returns the whole way's outcome (`nil`: still incomplete).
    private func decodeBothWays(_ wire: String, limit: Int) -> Result<RESPValue, RESPDecodeError>? {
        var outcomes: [Result<RESPValue, RESPDecodeError>?] = []
        for split in [false, true] {
            var decoder = RESPDecoder(maximumFrameLength: limit)
            var buffer = Bytes()
            let chunks: [[UInt8]] = split ? wire.utf8.map { [$0] } : [Array(wire.utf8)]
            var outcome: Result<RESPValue, RESPDecodeError>?
            for chunk in chunks where outcome == nil {
                buffer.writeBytes(chunk)
                do throws(RESPDecodeError) {
                    if let token = try decoder.decode(from: &buffer) { outcome = .success(RESPValue(token)) }
                } catch { outcome = .failure(error) }
            }
            outcomes.append(outcome)
        }
        #expect("\(String(describing: outcomes[0]))" == "\(String(describing: outcomes[1]))", "\(wire.debugDescription)")
        return outcomes[0]
    }

    @Test func aWholeFrameOverItsLimitIsRefusedAndOneAtTheLimitPasses() throws {
        let frame = "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"  // 22 bytes, each bulk far under any bulk limit
        #expect(try decodeBothWays(frame, limit: 22)?.get() == .array([.bulkString(Bytes("foo")), .bulkString(Bytes("bar"))]))
        guard case .failure(let error) = decodeBothWays(frame, limit: 21) else {
            Issue.record("a 22-byte frame passed a 21-byte limit")
            return
        }
        #expect(error.kind == .frameTooLong)
        #expect(error.description == "malformed RESP: a reply longer than the limit of 21 bytes at byte 13 of the frame")
    }

    /// The default frame limit leaves room for the largest bulk string a server sends (512 MiB,
    /// its `proto-max-bulk-len`) with its header: such a claim waits for its bytes.
    @Test func theLargestValueAServerHoldsFitsTheDefaultFrameLimit() throws {
        var decoder = RESPDecoder()
        var buffer = Bytes("$\(RESPDecoder.defaultMaximumLength)\r\nabc")
        #expect(try decoder.decode(from: &buffer) == nil)
        var array = RESPDecoder()
        var wrapped = Bytes("*1\r\n$\(RESPDecoder.defaultMaximumLength)\r\nabc")
        #expect(try array.decode(from: &wrapped) == nil)
    }

    @Test func aFrameIsRefusedOnItsClaimBeforeThePayloadArrives() throws {
        // Only the header of the second element is here: its claimed length alone crosses the limit.
        var decoder = RESPDecoder(maximumFrameLength: 1024)
        var buffer = Bytes("*2\r\n$600\r\n" + String(repeating: "x", count: 600) + "\r\n$600\r\n")
        let error = #expect(throws: RESPDecodeError.self) { _ = try decoder.decode(from: &buffer) }
        #expect(error?.kind == .frameTooLong)
        // A simple line still arriving is stopped at the limit too, not left to grow.
        let line = "+" + String(repeating: "y", count: 40)
        guard case .failure(let lineError) = decodeBothWays(line, limit: 32) else {
            Issue.record("a 41-byte unfinished line passed a 32-byte limit")
            return
        }
        #expect(lineError.kind == .frameTooLong)
    }

    @Test func errorNamesTheOffendingByte() {
        var decoder = RESPDecoder()
        var buffer = Bytes("*2\r\n:1\r\n@\r\n")
        let error = #expect(throws: RESPDecodeError.self) { _ = try decoder.decode(from: &buffer) }
        #expect(error?.offset == 8)
        #expect(error?.description == "malformed RESP: invalid RESP type byte '@' at byte 8 of the frame")
    }
}
