extension Bytes {
    /// Marks `count` readable bytes as read.
    @inlinable
    public mutating func moveReaderIndex(forwardBy count: Int) {
        precondition(count >= 0 && count <= readableBytes, "cannot skip more bytes than are readable")
        _readerIndex &+= count
    }

    /// The byte `offset` bytes past the reader index, or `nil` past the end.
    @inlinable
    public func getByte(at offset: Int) -> UInt8? {
        guard offset >= 0 && offset < readableBytes else { return nil }
        return _storage.base.load(fromByteOffset: _readerIndex &+ offset, as: UInt8.self)
    }

    /// Reads and removes one byte.
    @inlinable
    public mutating func readByte() -> UInt8? {
        guard let byte = getByte(at: 0) else { return nil }
        _readerIndex &+= 1
        return byte
    }

    /// A slice sharing this buffer's storage: `length` bytes starting `offset` bytes past the reader
    /// index, or `nil` when that range is not readable. No byte is copied.
    @inlinable
    public func getSlice(at offset: Int, length: Int) -> Bytes? {
        guard offset >= 0, length >= 0, offset <= readableBytes, length <= readableBytes &- offset else {
            return nil
        }
        let start = _readerIndex &+ offset
        return Bytes(storage: _storage, readerIndex: start, writerIndex: start &+ length)
    }

    /// Reads and removes `length` bytes as a slice sharing this buffer's storage.
    @inlinable
    public mutating func readSlice(length: Int) -> Bytes? {
        guard let slice = getSlice(at: 0, length: length) else { return nil }
        _readerIndex &+= length
        return slice
    }

    /// The readable bytes decoded as UTF-8, with invalid sequences replaced by U+FFFD.
    @inlinable
    public var string: String {
        withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// The readable bytes as a new array.
    @inlinable
    public var array: [UInt8] {
        withUnsafeReadableBytes { [UInt8]($0) }
    }

    /// Whether the readable bytes equal the UTF-8 bytes of `text`, ignoring ASCII letter case.
    @inlinable
    public func equalsCaseInsensitive(_ text: StaticString) -> Bool {
        guard readableBytes == text.utf8CodeUnitCount else { return false }
        let other = text.utf8Start
        return withUnsafeReadableBytes { mine in
            for index in 0..<mine.count where Self.asciiLowercased(mine[index]) != Self.asciiLowercased(other[index]) {
                return false
            }
            return true
        }
    }

    @inlinable
    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
