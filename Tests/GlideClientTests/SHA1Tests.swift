import Testing

@testable import GlideClient
@testable import GlideConnection

/// The script digest against published SHA-1 test vectors.
@Suite(.timeLimit(.minutes(2))) struct SHA1Tests {
    @Test func knownVectors() {
        #expect(SHA1.hex(of: "".utf8) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(of: "abc".utf8) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hex(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func blockBoundaries() {
        // 55, 56 and 64 bytes: the padding spills into a second block at 56.
        #expect(SHA1.hex(of: [UInt8](repeating: 0x61, count: 55)) == "c1c8bbdc22796e28c0e15163d20899b65621d65a")
        #expect(SHA1.hex(of: [UInt8](repeating: 0x61, count: 56)) == "c2db330f6083854c99d4b5bfb6e8f29f201be699")
        #expect(SHA1.hex(of: [UInt8](repeating: 0x61, count: 64)) == "0098ba824b5c16427bd7a1122a5a442a25ec644d")
    }
}
