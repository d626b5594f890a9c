import GlideBuffers
import GlideCompression

/// Stored values as the server may hand them back: read as compressed values they either
/// decompress within the limit, are refused for the limit, or are taken as they are; and any bytes
/// compressed with either algorithm read back the same.
///
/// The first byte picks the shape: the input as it is, or behind a zstd or an lz4 header, so the
/// fuzzer reaches both decoders' error paths without having to find the magic prefix first.
enum CompressionTarget {
    static let limit = 1 << 20

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let shape = input.below(3)
        let body = input.rest()
        var stored = Bytes()
        if shape > 0 { stored.writeBytes([0x00, 0x01, 0x02, 0x00, UInt8(shape)]) }
        stored.writeBytes(body)
        let configuration = CompressionConfiguration(
            algorithm: shape == 2 ? .lz4 : .zstd, minimumSize: 6, maximumDecompressedSize: limit)
        let compressor = ValueCompressor(configuration)
        do {
            if let plain = try compressor.decompress(stored) {
                precondition(plain.count <= limit, "a value expanded past the limit: \(plain.count)")
            }
        } catch {
            precondition(error.limit == limit, "a limit error names another limit")
        }
        // Any bytes round-trip through either algorithm.
        let original = Bytes(body)
        for algorithm in [CompressionConfiguration.Algorithm.zstd, .lz4] {
            let roundTrip = ValueCompressor(CompressionConfiguration(algorithm: algorithm, minimumSize: 6, maximumDecompressedSize: limit))
            guard let compressed = roundTrip.compress(original) else { continue }
            precondition(compressed.count < original.count, "a compressed value is not smaller")
            precondition((try? roundTrip.decompress(compressed)) == original, "a value did not round-trip through \(algorithm)")
        }
    }
}
