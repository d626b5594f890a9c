import CGlideCompression
public import GlideBuffers

/// Compresses and decompresses single values in GLIDE's stored format: a 5-byte header (the
/// magic bytes `00 01 02`, format version 0, the algorithm's id), then the compressed data: a zstd
/// frame, or for lz4 the original length (4 bytes, little-endian) and one lz4 block.
///
/// Pure and thread-safe: each call allocates what it uses.
public struct ValueCompressor: Sendable {
    /// What it was made with.
    public let configuration: CompressionConfiguration

    /// The header's length.
    public static let headerSize = 5
    static let magic: (UInt8, UInt8, UInt8) = (0x00, 0x01, 0x02)
    static let version: UInt8 = 0

    /// A compressor for `configuration`; `problem(with:)` says whether it is valid.
    public init(_ configuration: CompressionConfiguration) {
        self.configuration = configuration
    }

    /// What is wrong with `configuration`, if anything.
    public static func problem(with configuration: CompressionConfiguration) -> String? {
        if configuration.minimumSize < headerSize + 1 { return "compression.minimumSize must be at least \(headerSize + 1)" }
        if configuration.maximumDecompressedSize < 1 { return "compression.maximumDecompressedSize must be positive" }
        guard let level = configuration.level else { return nil }
        switch configuration.algorithm {
        case .zstd:
            let range = Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())
            if !range.contains(level) { return "compression.level for zstd must be in \(range)" }
        case .lz4:
            let range = -65_537...Int(CGlideCompression_lz4hc_max_level())
            if !range.contains(level) { return "compression.level for lz4 must be in \(range)" }
        }
        return nil
    }

    /// Whether `value` starts with a compression header (any version, any algorithm).
    public static func hasHeader(_ value: Bytes) -> Bool {
        value.count >= headerSize && value.getByte(at: 0) == magic.0 && value.getByte(at: 1) == magic.1
            && value.getByte(at: 2) == magic.2
    }

    // MARK: Compressing

    /// `value` compressed, or `nil` when it is stored as it is: shorter than `minimumSize`,
    /// already compressed, or not made smaller.
    public func compress(_ value: Bytes) -> Bytes? {
        guard value.count >= configuration.minimumSize, !Self.hasHeader(value) else { return nil }
        let compressed: Bytes? =
            switch configuration.algorithm {
            case .zstd: zstd(value)
            case .lz4: lz4(value)
            }
        guard let compressed, compressed.count < value.count else { return nil }
        return compressed
    }

    private func header() -> Bytes {
        var bytes = Bytes(capacity: 64)
        bytes.writeBytes([Self.magic.0, Self.magic.1, Self.magic.2, Self.version, configuration.algorithm.rawValue])
        return bytes
    }

    private func zstd(_ value: Bytes) -> Bytes? {
        let bound = ZSTD_compressBound(value.count)
        var result = header()
        var failed = false
        value.withUnsafeReadableBytes { source in
            _ = result.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                let written = ZSTD_compress(
                    target.baseAddress, target.count, source.baseAddress, source.count, Int32(configuration.level ?? 3))
                guard ZSTD_isError(written) == 0 else {
                    failed = true
                    return 0
                }
                return written
            }
        }
        return failed ? nil : result
    }

    private func lz4(_ value: Bytes) -> Bytes? {
        guard value.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let length = UInt32(value.count)
        var result = header()
        result.writeBytes([UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)])
        let level = configuration.level ?? 0
        var written: Int32 = 0
        value.withUnsafeReadableBytes { source in
            _ = result.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(LZ4_compressBound(Int32(value.count)))) { target in
                let from = source.baseAddress?.assumingMemoryBound(to: CChar.self)
                let to = target.baseAddress?.assumingMemoryBound(to: CChar.self)
                let count = Int32(source.count)
                let capacity = Int32(clamping: target.count)
                written =
                    if level > 0 {
                        LZ4_compress_HC(from, to, count, capacity, Int32(level))
                    } else {
                        // A negative level is an acceleration: faster, larger.
                        LZ4_compress_fast(from, to, count, capacity, Int32(max(1, -level)))
                    }
                return Int(max(written, 0))
            }
        }
        return written > 0 ? result : nil
    }

    // MARK: Decompressing

    /// A value as stored, decompressed: `nil` when it is not compressed (no header), or when its
    /// data doesn't decompress (then it is taken as a value that happens to start like a header,
    /// and read as it is). Throws when it would expand past `maximumDecompressedSize`.
    public func decompress(_ value: Bytes) throws(CompressionLimitExceeded) -> Bytes? {
        guard Self.hasHeader(value), value.getByte(at: 3) == Self.version, let id = value.getByte(at: 4),
            let algorithm = CompressionConfiguration.Algorithm(rawValue: id),
            let data = value.getSlice(at: Self.headerSize, length: value.count - Self.headerSize)
        else { return nil }
        switch algorithm {
        case .zstd: return try unzstd(data)
        case .lz4: return try unlz4(data)
        }
    }

    private func unlz4(_ data: Bytes) throws(CompressionLimitExceeded) -> Bytes? {
        guard data.count >= 4 else { return nil }
        let length =
            Int(data.getByte(at: 0)!) | Int(data.getByte(at: 1)!) << 8 | Int(data.getByte(at: 2)!) << 16
            | Int(data.getByte(at: 3)!) << 24
        // The length is checked before anything is allocated for it.
        guard length <= configuration.maximumDecompressedSize else {
            throw CompressionLimitExceeded(limit: configuration.maximumDecompressedSize, size: length)
        }
        guard length <= Int(Int32.max), let block = data.getSlice(at: 4, length: data.count - 4) else { return nil }
        var result = Bytes(capacity: max(length, 1))
        var failed = false
        block.withUnsafeReadableBytes { source in
            _ = result.writeWithUnsafeMutableBytes(minimumWritableBytes: max(length, 1)) { target in
                let read = LZ4_decompress_safe(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), target.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(source.count), Int32(length))
                guard read == Int32(length) else {
                    failed = true
                    return 0
                }
                return Int(read)
            }
        }
        return failed ? nil : result
    }

    private func unzstd(_ data: Bytes) throws(CompressionLimitExceeded) -> Bytes? {
        guard let context = ZSTD_createDCtx() else { return nil }
        defer { ZSTD_freeDCtx(context) }
        let limit = configuration.maximumDecompressedSize
        var result = Bytes(capacity: min(max(data.count * 4, 256), limit))
        var outcome: Result<Bool, CompressionLimitExceeded> = .success(false)
        data.withUnsafeReadableBytes { source in
            var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                // Read in steps, so a frame claiming a huge size allocates only what it delivers.
                let step = min(max(result.count, 64 << 10), 4 << 20)
                var remaining = 0
                var filled = false
                _ = result.writeWithUnsafeMutableBytes(minimumWritableBytes: step) { target in
                    var output = ZSTD_outBuffer(dst: target.baseAddress, size: min(target.count, step), pos: 0)
                    remaining = ZSTD_decompressStream(context, &output, &input)
                    filled = output.pos == output.size
                    return ZSTD_isError(remaining) == 0 ? output.pos : 0
                }
                if ZSTD_isError(remaining) != 0 { return }
                if result.count > limit {
                    outcome = .failure(CompressionLimitExceeded(limit: limit, size: result.count))
                    return
                }
                // 0: the frame is complete (and must be all there is). Input used up while more is
                // expected, with room left in the output: truncated.
                if remaining == 0 {
                    outcome = .success(input.pos == input.size)
                    return
                }
                if input.pos == input.size && !filled { return }
            }
        }
        return try outcome.get() ? result : nil
    }
}

/// A compressed value would expand past `CompressionConfiguration.maximumDecompressedSize`.
public struct CompressionLimitExceeded: Error, Sendable, CustomStringConvertible {
    /// The configured limit, in bytes.
    public let limit: Int
    /// The size it claims, or that it reached when it was stopped.
    public let size: Int

    /// What happened.
    public var description: String {
        "a compressed value would expand to \(size) bytes or more, past compression.maximumDecompressedSize (\(limit))"
    }
}
