public import GlideBuffers

/// The cluster's key space: 16,384 hash slots, a key's slot being the CRC16 of the key (or of its
/// hash tag) modulo 16,384.
public enum HashSlot {
    /// The number of slots.
    public static let count = 16384

    /// The slot of `key`. When the key has a hash tag, a non-empty part between the first `{` and
    /// the first `}` after it, only the tag is hashed, so `{user:1}:name` and `{user:1}:mail`
    /// share a slot.
    @inlinable
    public static func of(_ key: Bytes) -> UInt16 {
        key.withUnsafeReadableBytes { slot(of: $0) }
    }

    /// The slot of `key`, hashed as its UTF-8 bytes.
    @inlinable
    public static func of(_ key: String) -> UInt16 {
        var key = key
        // Native strings are contiguous UTF-8; a bridged one is made so once.
        return key.withUTF8 { slot(of: UnsafeRawBufferPointer($0)) }
    }

    /// The slot of the raw bytes `key`.
    @inlinable
    public static func slot(of key: UnsafeRawBufferPointer) -> UInt16 {
        var start = 0
        var end = key.count
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            start = open + 1
            end = close
        }
        return crc16(UnsafeRawBufferPointer(rebasing: key[start..<end])) & 0x3FFF
    }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the server computes it.
    @inlinable
    public static func crc16(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        crcTable.withUnsafeBufferPointer { table in
            var crc: UInt16 = 0
            for byte in bytes {
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    /// The byte-at-a-time table for `crc16`.
    @usableFromInline
    static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
