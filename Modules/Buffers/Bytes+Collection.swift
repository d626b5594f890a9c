extension Bytes: RandomAccessCollection {
    /// Offsets from the reader index: the first readable byte is at zero.
    public typealias Index = Int

    /// Always zero.
    @inlinable public var startIndex: Int { 0 }

    /// The number of readable bytes.
    @inlinable public var endIndex: Int { readableBytes }

    /// The number of readable bytes.
    @inlinable public var count: Int { readableBytes }

    /// The readable byte at `position`.
    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < readableBytes, "Bytes index out of range")
        return _storage.base.load(fromByteOffset: _readerIndex &+ position, as: UInt8.self)
    }

    /// Gives algorithms such as `Array.init` and `elementsEqual` the bytes in one piece.
    @inlinable
    public func withContiguousStorageIfAvailable<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try body(
            UnsafeBufferPointer(
                start: _storage.base.assumingMemoryBound(to: UInt8.self) + _readerIndex,
                count: readableBytes))
    }
}

extension Bytes: Equatable {
    /// Two buffers are equal when their readable bytes are.
    @inlinable
    public static func == (lhs: Bytes, rhs: Bytes) -> Bool {
        guard lhs.readableBytes == rhs.readableBytes else { return false }
        if lhs._storage === rhs._storage && lhs._readerIndex == rhs._readerIndex { return true }
        return lhs.withUnsafeReadableBytes { left in
            rhs.withUnsafeReadableBytes { right in
                left.count == 0 || memcmpBytes(left.baseAddress!, right.baseAddress!, left.count)
            }
        }
    }
}

/// Byte-wise equality of two regions of memory.
@inlinable
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var index = 0
    // Eight bytes at a time, then the tail.
    while index &+ 8 <= count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            != b.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        {
            return false
        }
        index &+= 8
    }
    while index < count {
        if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) {
            return false
        }
        index &+= 1
    }
    return true
}

extension Bytes: Hashable {
    /// Hashes the readable bytes.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        withUnsafeReadableBytes { hasher.combine(bytes: $0) }
    }
}

extension Bytes: ExpressibleByStringLiteral {
    /// The UTF-8 bytes of a string literal.
    @inlinable
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

extension Bytes: ExpressibleByArrayLiteral {
    /// The bytes of an array literal.
    @inlinable
    public init(arrayLiteral elements: UInt8...) {
        self.init(elements)
    }
}

extension Bytes: CustomStringConvertible, CustomDebugStringConvertible {
    /// The bytes as text when they are printable UTF-8, otherwise escaped like a Valkey CLI prints them.
    public var description: String {
        let text = string
        if !text.unicodeScalars.contains(where: { $0 == "\u{FFFD}" || ($0.value < 0x20 && $0 != "\n" && $0 != "\t") }) {
            return text
        }
        var escaped = ""
        for byte in self {
            switch byte {
            case UInt8(ascii: "\\"): escaped += "\\\\"
            case UInt8(ascii: "\""): escaped += "\\\""
            case UInt8(ascii: "\n"): escaped += "\\n"
            case UInt8(ascii: "\r"): escaped += "\\r"
            case UInt8(ascii: "\t"): escaped += "\\t"
            case 0x20..<0x7F: escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789abcdef")
                escaped += "\\x" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return escaped
    }

    /// The byte count and the escaped contents, cut short when long.
    public var debugDescription: String {
        let shown = count > 64 ? getSlice(at: 0, length: 64)!.description + "…" : description
        return "Bytes(\(count) bytes: \"\(shown)\")"
    }
}

extension String {
    /// The UTF-8 text of `bytes`, with invalid sequences replaced by U+FFFD.
    @inlinable
    public init(_ bytes: Bytes) {
        self = bytes.string
    }
}

extension Array where Element == UInt8 {
    /// A copy of the readable bytes of `bytes`.
    @inlinable
    public init(_ bytes: Bytes) {
        self = bytes.array
    }
}
