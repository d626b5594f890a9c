import GlideBuffers
import Testing

@testable import GlideCompression

/// `ValueCompressor`: GLIDE's header, round trips with both algorithms, what is left as it is,
/// and values that must not be trusted (truncated, corrupt, a claimed size past the limit).
@Suite(.timeLimit(.minutes(2))) struct ValueCompressorTests {
    /// A kilobyte-ish JSON document, the shape compression is for.
    static let document = Bytes(
        String(repeating: #"{"user":"ada","roles":["admin","ops"],"active":true,"score":42},"#, count: 20))

    @Test(arguments: [CompressionConfiguration.Algorithm.zstd, .lz4])
    func aValueRoundTripsBehindGLIDEsHeader(algorithm: CompressionConfiguration.Algorithm) throws {
        let compressor = ValueCompressor(CompressionConfiguration(algorithm: algorithm))
        let compressed = try #require(compressor.compress(Self.document))
        #expect(compressed.count < Self.document.count / 4, "\(compressed.count) of \(Self.document.count)")
        #expect(Array(compressed.prefix(5)) == [0x00, 0x01, 0x02, 0x00, algorithm.rawValue])
        if algorithm == .lz4 {
            // The original length, little-endian, before the block.
            let length = Self.document.count
            #expect(Array(compressed.dropFirst(5).prefix(4)) == [UInt8(length & 0xFF), UInt8(length >> 8), 0, 0])
        } else {
            // A zstd frame's magic number.
            #expect(Array(compressed.dropFirst(5).prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        }
        #expect(try compressor.decompress(compressed) == Self.document)
        // Either algorithm reads the other's values.
        let other = ValueCompressor(CompressionConfiguration(algorithm: algorithm == .zstd ? .lz4 : .zstd))
        #expect(try other.decompress(compressed) == Self.document)
    }

    @Test(arguments: [-5, 1, 19], [CompressionConfiguration.Algorithm.zstd, .lz4])
    func everyLevelRoundTrips(level: Int, algorithm: CompressionConfiguration.Algorithm) throws {
        let compressor = ValueCompressor(CompressionConfiguration(algorithm: algorithm, level: min(level, 12)))
        #expect(ValueCompressor.problem(with: compressor.configuration) == nil)
        #expect(try compressor.decompress(try #require(compressor.compress(Self.document))) == Self.document)
    }

    @Test func whatIsNotWorthCompressingIsLeftAsItIs() throws {
        let compressor = ValueCompressor(CompressionConfiguration())
        // Below the minimum size.
        #expect(compressor.compress(Bytes(String(repeating: "a", count: 63))) == nil)
        // Random bytes don't get smaller.
        var generator = SystemRandomNumberGenerator()
        let noise = Bytes((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        #expect(compressor.compress(noise) == nil)
        // A value that already has a header is never compressed twice.
        let compressed = try #require(compressor.compress(Self.document))
        #expect(compressor.compress(compressed) == nil)
        // Values without a header read as they are.
        #expect(try compressor.decompress(Self.document) == nil)
        #expect(try compressor.decompress(Bytes([0, 1, 2])) == nil)
    }

    @Test func dataThatDoesNotDecompressIsReadAsItIs() throws {
        let compressor = ValueCompressor(CompressionConfiguration())
        for algorithm in [CompressionConfiguration.Algorithm.zstd, .lz4] {
            let compressed = try #require(ValueCompressor(CompressionConfiguration(algorithm: algorithm)).compress(Self.document))
            // Truncated.
            #expect(try compressor.decompress(try #require(compressed.getSlice(at: 0, length: compressed.count - 3))) == nil)
            // Corrupt past the header.
            var corrupt = Bytes(compressed.prefix(9))
            corrupt.writeBytes(Array(repeating: UInt8(0xFF), count: compressed.count - 9))
            #expect(try compressor.decompress(corrupt) == nil)
        }
        // An unknown format version or algorithm.
        #expect(try compressor.decompress(Bytes([0, 1, 2, 9, 1, 1, 2, 3])) == nil)
        #expect(try compressor.decompress(Bytes([0, 1, 2, 0, 7, 1, 2, 3])) == nil)
        // Trailing bytes after a complete zstd frame.
        var trailing = try #require(compressor.compress(Self.document))
        trailing.writeBytes([1, 2, 3])
        #expect(try compressor.decompress(trailing) == nil)
    }

    @Test func aValueThatWouldExpandPastTheLimitIsRefused() throws {
        let zeros = Bytes(Array(repeating: UInt8(0), count: 8 << 20))
        let limited = CompressionConfiguration(maximumDecompressedSize: 1 << 20)
        for algorithm in [CompressionConfiguration.Algorithm.zstd, .lz4] {
            let bomb = try #require(ValueCompressor(CompressionConfiguration(algorithm: algorithm)).compress(zeros))
            #expect(bomb.count < 64 << 10)
            let error = #expect(throws: CompressionLimitExceeded.self) { try ValueCompressor(limited).decompress(bomb) }
            #expect(error?.limit == 1 << 20)
        }
        // An lz4 header claiming 4 GiB is refused before anything is allocated for it.
        let claim = Bytes([0, 1, 2, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0x00])
        #expect(throws: CompressionLimitExceeded.self) { try ValueCompressor(limited).decompress(claim) }
    }

    @Test func invalidSettingsAreNamed() {
        #expect(ValueCompressor.problem(with: CompressionConfiguration(minimumSize: 5))?.contains("minimumSize") == true)
        #expect(ValueCompressor.problem(with: CompressionConfiguration(level: 99))?.contains("zstd") == true)
        #expect(ValueCompressor.problem(with: CompressionConfiguration(algorithm: .lz4, level: 13))?.contains("lz4") == true)
        #expect(ValueCompressor.problem(with: CompressionConfiguration(maximumDecompressedSize: 0)) != nil)
        #expect(ValueCompressor.problem(with: CompressionConfiguration()) == nil)
    }
}
