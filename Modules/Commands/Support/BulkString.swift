/// A binary-safe string argument: text or bytes, written as they are, with no conversion.
///
/// Keys, members, fields and values of the typed commands are `BulkString`s. A string literal is
/// one; so is anything `BulkStringConvertible` (`String`, `Substring`, `Bytes`, `Int`, `Double`).
public struct BulkString: RESPArgument, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    @usableFromInline
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes(Bytes)
    }

    @usableFromInline let storage: Storage

    /// Text, sent as its UTF-8 bytes.
    @inlinable
    public init(_ string: String) { storage = .string(string) }

    /// Bytes, sent as they are.
    @inlinable
    public init(_ bytes: Bytes) { storage = .bytes(bytes) }

    /// Anything that converts.
    @inlinable
    public init(_ value: some BulkStringConvertible) { self = value.bulkString }

    /// A string literal.
    @inlinable
    public init(stringLiteral value: String) { storage = .string(value) }

    /// Calls `body` with the bytes, without copying them (a native string's UTF-8 storage, or
    /// the `Bytes` themselves).
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        switch storage {
        case .string(var string): return string.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .bytes(let bytes): return bytes.withUnsafeReadableBytes(body)
        }
    }

    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }

    /// Writes the bytes as a bulk string.
    @inlinable
    public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {
        switch storage {
        case .string(let string): buffer.writeRESPBulkString(string)
        case .bytes(let bytes): buffer.writeRESPBulkString(bytes)
        }
    }

    /// The bytes.
    public var bytes: Bytes {
        switch storage {
        case .string(let string): Bytes(string)
        case .bytes(let bytes): bytes
        }
    }

    /// The text, decoding bytes as UTF-8.
    public var description: String {
        switch storage {
        case .string(let string): string
        case .bytes(let bytes): bytes.description
        }
    }
}

/// A value that can be sent as one binary-safe string argument.
public protocol BulkStringConvertible: Sendable {
    /// This value as a bulk string.
    var bulkString: BulkString { get }
}

extension BulkString: BulkStringConvertible {
    /// Itself.
    @inlinable public var bulkString: BulkString { self }
}

extension String: BulkStringConvertible {
    /// The text.
    @inlinable public var bulkString: BulkString { BulkString(self) }
}

extension Substring: BulkStringConvertible {
    /// The text.
    @inlinable public var bulkString: BulkString { BulkString(String(self)) }
}

extension Bytes: BulkStringConvertible {
    /// The bytes.
    @inlinable public var bulkString: BulkString { BulkString(self) }
}

extension Int: BulkStringConvertible {
    /// The decimal digits.
    @inlinable public var bulkString: BulkString { BulkString(String(self)) }
}

extension Double: BulkStringConvertible {
    /// The number as the server parses it.
    @inlinable public var bulkString: BulkString {
        BulkString(isInfinite ? (self < 0 ? "-inf" : "inf") : description)
    }
}

extension RESPCommandBuffer {
    /// Writes a keyword (a command name or option token) as a bulk string.
    @inlinable
    public mutating func writeRESPToken(_ token: StaticString) {
        writeRESPBulkString(UnsafeRawBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount))
    }
}
