import GlideRESPCodec
import Testing

@Suite(.timeLimit(.minutes(2))) struct DecoderSplitTests {
    /// Feeds `wire` to one decoder in two reads, split at every byte boundary, and also one byte at
    /// a time; every feeding must give the same value as decoding it whole.
    @Test(arguments: specExamples.indices)
    func everySplitGivesTheSameValue(index: Int) throws {
        let example = specExamples[index]
        let wire = Array(example.wire.utf8)
        for split in 0...wire.count {
            var decoder = RESPDecoder()
            var buffer = Bytes(wire[..<split])
            let early = try decoder.decode(from: &buffer)
            if split < wire.count {
                #expect(early == nil, "frame reported complete after \(split) of \(wire.count) bytes")
            }
            buffer.writeBytes(wire[split...])
            let token = try #require(try early ?? decoder.decode(from: &buffer))
            #expect(RESPValue(token) == example.value)
            #expect(buffer.readableBytes == 0)
        }
        var decoder = RESPDecoder()
        var buffer = Bytes()
        var decoded: RESPToken?
        for byte in wire {
            #expect(decoded == nil)
            buffer.writeByte(byte)
            decoded = try decoder.decode(from: &buffer)
        }
        #expect(try RESPValue(#require(decoded)) == example.value)
    }

    @Test func resumesAcrossAReallocatedBuffer() throws {
        // The transport may move unread bytes into new storage between reads.
        var decoder = RESPDecoder()
        var buffer = Bytes("*2\r\n$5\r\nhel")
        #expect(try decoder.decode(from: &buffer) == nil)
        var moved = Bytes(capacity: 1024)
        moved.writeBytes(buffer)
        moved.writeString("lo\r\n:1\r\n")
        let token = try #require(try decoder.decode(from: &moved))
        #expect(RESPValue(token) == .array([.bulkString("hello"), .integer(1)]))
    }

    @Test func announcesTheSizeOfAnAwaitedPayload() throws {
        var decoder = RESPDecoder()
        var buffer = Bytes("$1000000\r\nabc")
        #expect(try decoder.decode(from: &buffer) == nil)
        #expect(decoder.bytesStillNeeded(in: buffer) == 1_000_000 + 2 - 3)
    }
}
