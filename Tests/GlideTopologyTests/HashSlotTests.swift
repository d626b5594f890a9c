import GlideBuffers
import GlideTopology
import Testing

@Suite(.timeLimit(.minutes(2))) struct HashSlotTests {
    // Each expected slot is what `CLUSTER KEYSLOT` answered on valkey-server 9.1.
    @Test(arguments: [
        ("foo", 12182), ("a", 15495), ("{user1000}.following", 3443), ("foo{}{bar}", 8363),
        ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061), ("", 0), ("123456789", 12739), ("{}", 15257),
        ("}{abc}", 7638),
    ])
    func slotsMatchTheServer(key: String, slot: Int) {
        #expect(HashSlot.of(key) == UInt16(slot))
        #expect(HashSlot.of(Bytes(key)) == UInt16(slot))
    }

    @Test func hashTagsShareASlot() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("{user1000}.followers"))
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        #expect(HashSlot.of("foo{bar}{zap}") == HashSlot.of("bar"))
    }

    @Test func crcCheckValue() {
        // The CRC16/XMODEM check value of "123456789" is 0x31C3.
        let crc = Array("123456789".utf8).withUnsafeBytes { HashSlot.crc16($0) }
        #expect(crc == 0x31C3)
    }

    @Test func binaryKeysAndSlicesHashTheirReadableBytes() {
        var buffer = Bytes("xxfoo")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(HashSlot.of(buffer) == 12182)
        let binary = Bytes([0xff, 0x00, 0x7b, 0x61, 0x7d])  // "\xff\0{a}"
        #expect(HashSlot.of(binary) == HashSlot.of("a"))
    }

    @Test func nodeAddressesParseAsServersWriteThem() {
        #expect(NodeAddress(parsing: "127.0.0.1:7000") == NodeAddress(host: "127.0.0.1", port: 7000))
        #expect(NodeAddress(parsing: "::1:7000") == NodeAddress(host: "::1", port: 7000))
        #expect(NodeAddress(parsing: "[::1]:7000") == NodeAddress(host: "::1", port: 7000))
        #expect(NodeAddress(parsing: ":7000") == NodeAddress(host: "", port: 7000))
        #expect(NodeAddress(parsing: "host") == nil)
        #expect(NodeAddress(parsing: "host:0") == nil)
        #expect(NodeAddress(parsing: "host:99999") == nil)
    }
}
