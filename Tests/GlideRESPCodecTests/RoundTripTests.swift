import GlideRESPCodec
import Testing

/// A small deterministic generator, so a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomBytes(_ rng: inout SplitMix64, maxLength: Int) -> Bytes {
    Bytes((0..<Int.random(in: 0...maxLength, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
}

func randomLine(_ rng: inout SplitMix64) -> Bytes {
    // Simple strings may not contain CR or LF.
    Bytes((0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) })
}

func randomValue(_ rng: inout SplitMix64, depth: Int) -> RESPValue {
    let leafKinds = 10
    let kind = Int.random(in: 0..<(depth > 3 ? leafKinds : leafKinds + 5), using: &rng)
    func children() -> [RESPValue] {
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) }
    }
    switch kind {
    case 0: return .simpleString(randomLine(&rng))
    case 1: return .simpleError(randomLine(&rng))
    case 2: return .integer(Int.random(in: Int.min...Int.max, using: &rng))
    case 3: return .bulkString(randomBytes(&rng, maxLength: 300))
    case 4: return .null
    case 5: return .boolean(Bool.random(using: &rng))
    case 6: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 64)
    case 7: return .bigNumber(Bytes("-" + String(UInt64.random(in: 0...UInt64.max, using: &rng)) + "123456789"))
    case 8: return .bulkError(randomBytes(&rng, maxLength: 50))
    case 9: return .verbatimString(format: "txt", text: randomBytes(&rng, maxLength: 50))
    case 10: return .array(children())
    case 11: return .set(children())
    case 12: return .push(children())
    case 13:
        return .map(children().map { RESPPair(key: $0, value: randomValue(&rng, depth: depth + 1)) })
    default:
        return .attributed(
            randomValue(&rng, depth: depth + 1),
            attributes: [RESPPair(key: .simpleString(randomLine(&rng)), value: .integer(1))])
    }
}

@Suite(.timeLimit(.minutes(2))) struct RoundTripTests {
    @Test(arguments: 0..<8)
    func randomValuesSurviveEncodeAndChunkedDecode(seed: Int) throws {
        var rng = SplitMix64(state: UInt64(seed) &* 7919)
        var decoder = RESPDecoder()
        var stream = Bytes()
        var expected: [RESPValue] = []
        for _ in 0..<200 {
            let value = randomValue(&rng, depth: 0)
            expected.append(value)
            value.encode(into: &stream)
        }
        // Deliver the stream in random-sized chunks, as a socket would.
        var received = Bytes()
        var decoded: [RESPValue] = []
        while stream.readableBytes > 0 {
            let chunk = Int.random(in: 1...min(stream.readableBytes, 97), using: &rng)
            received.writeBytes(stream.readSlice(length: chunk)!)
            while let token = try decoder.decode(from: &received) { decoded.append(RESPValue(token)) }
        }
        #expect(decoded == expected)
        #expect(received.readableBytes == 0)
    }

    @Test func resp2DowngradeDecodesToTheRESP2Shapes() throws {
        let value = RESPValue.map([RESPPair(key: .bulkString("a"), value: .boolean(true))])
        #expect(try decodeOne(value.encoded(resp2: true).string) == .array([.bulkString("a"), .integer(1)]))
    }

    @Test func commandEncoderWritesArraysOfBulkStrings() {
        var buffer = RESPCommandBuffer()
        let missing: String? = nil
        buffer.writeRESPCommand("SET", "key", Bytes([0, 1]), "EX", 10, missing, ["a", "b"])
        #expect(buffer.bytes.string == "*7\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\n\0\u{1}\r\n$2\r\nEX\r\n$2\r\n10\r\n$1\r\na\r\n$1\r\nb\r\n")
        buffer.clear()
        buffer.writeRESPCommand("INCRBY", "k", -1_234_567, 2.5)
        #expect(buffer.bytes.string == "*4\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$8\r\n-1234567\r\n$3\r\n2.5\r\n")
    }

    @Test func largePayloadsAreReferencedNotCopied() throws {
        let large = Bytes([UInt8](repeating: 7, count: RESPCommandBuffer.referenceThreshold))
        let small = Bytes([UInt8](repeating: 1, count: RESPCommandBuffer.referenceThreshold - 1))
        var buffer = RESPCommandBuffer()
        buffer.writeRESPCommand("SET", "big", large)
        buffer.writeRESPCommand("SET", "small", small)
        #expect(buffer.bytes.readableBytes < small.count + 100)  // only the small value was copied in
        var chunks: [Bytes] = []
        buffer.forEachChunk { chunks.append($0) }
        #expect(chunks.count == 3)
        #expect(chunks[1]._unsafeReadableAddress == large._unsafeReadableAddress)  // the caller's own storage
        #expect(buffer.byteCount == buffer.contiguousBytes.readableBytes)
        // The wire bytes decode to exactly the two commands.
        var wire = buffer.contiguousBytes
        var decoder = RESPDecoder()
        let first = try #require(try decoder.decode(from: &wire))
        let second = try #require(try decoder.decode(from: &wire))
        #expect(RESPValue(first) == .array([.bulkString("SET"), .bulkString("big"), .bulkString(large)]))
        #expect(RESPValue(second) == .array([.bulkString("SET"), .bulkString("small"), .bulkString(small)]))
        // Appending keeps references referenced, at their new positions.
        var combined = RESPCommandBuffer()
        combined.writeRESPCommand("MULTI")
        combined.append(buffer)
        #expect(combined.contiguousBytes.string == "*1\r\n$5\r\nMULTI\r\n" + buffer.contiguousBytes.string)
    }

    @Test(arguments: [0, 9, 10, 99, 100, -1, -10, Int.max, Int.min])
    func decimalLengthMatchesWrittenDigits(value: Int) {
        #expect(Bytes.decimalLength(value) == String(value).utf8.count)
    }

    @Test func descriptionLooksLikeTheCLI() throws {
        let value = try decodeOne("*3\r\n$1\r\na\r\n:2\r\n*1\r\n_\r\n")
        #expect(value.description == "1) \"a\"\n2) (integer) 2\n3) 1) (nil)")
    }
}
