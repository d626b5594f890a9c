/// Transparent compression of values (opt-in): what is compressed, with what, and the limit on
/// what a compressed value may expand to when read.
///
/// Values at least `minimumSize` bytes long that `SET`-like commands write are compressed when
/// that makes them smaller, and `GET`-like commands decompress what they read. The stored format
/// is GLIDE's, so GLIDE clients with compression on and this client read each other's values;
/// values written without compression, by anyone, read as they are.
///
/// ```swift
/// var configuration = GlideClientConfiguration(addresses: [NodeAddress(host: "localhost", port: 6379)])
/// configuration.compression = CompressionConfiguration(algorithm: .lz4)
/// ```
public struct CompressionConfiguration: Sendable, Hashable {
    /// A compression algorithm, by the id GLIDE's header gives it.
    public enum Algorithm: UInt8, Sendable, Hashable {
        /// Zstandard: the better ratio (default level 3).
        case zstd = 1
        /// LZ4: the lower cost (default level 0, the fast mode; above 0 its high-compression mode).
        case lz4 = 2
    }

    /// The algorithm new values are compressed with. Values compressed with the other are still
    /// read.
    public var algorithm: Algorithm
    /// The level; `nil` takes the algorithm's default. zstd: its negative (fast) levels up to 22;
    /// lz4: a negative level is an acceleration, 0 the default, 1 to 12 high compression.
    public var level: Int?
    /// Values shorter than this are written as they are (at least 6 bytes: the header and one).
    public var minimumSize: Int
    /// The most bytes a value read may expand to; a larger one fails with `.protocolError` rather
    /// than take the memory (a decompression bomb).
    public var maximumDecompressedSize: Int

    /// Compression with `algorithm` (zstd by default) of values of at least `minimumSize` bytes.
    public init(algorithm: Algorithm = .zstd, level: Int? = nil, minimumSize: Int = 64, maximumDecompressedSize: Int = 512 << 20) {
        self.algorithm = algorithm
        self.level = level
        self.minimumSize = minimumSize
        self.maximumDecompressedSize = maximumDecompressedSize
    }
}
