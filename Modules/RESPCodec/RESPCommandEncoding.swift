/// A value that becomes one or more arguments of a command: each argument is a bulk string.
///
/// Strings, `Bytes`, integers and doubles are one argument; optionals are zero or one; arrays are
/// as many as their elements. Commands are written with `RESPCommandBuffer.writeRESPCommand(_:)`,
/// which counts the arguments first so the array header is written once, with no intermediate
/// storage.
public protocol RESPArgument {
    /// How many bulk strings this value is written as.
    var respArgumentCount: Int { get }
    /// Writes this value's bulk strings.
    func writeRESPArguments(into buffer: inout RESPCommandBuffer)
}

extension RESPCommandBuffer {
    /// Writes `*count\r\n`.
    @inlinable
    public mutating func writeRESPArrayHeader(count: Int) {
        bytes.writeByte(RESPType.array.rawValue)
        bytes.writeDecimal(count)
        bytes.writeBytes(0x0D, 0x0A)
    }

    /// Writes `bytes` as a bulk string: `$length\r\n`, the bytes, `\r\n`.
    @inlinable
    public mutating func writeRESPBulkString(_ bytes: UnsafeRawBufferPointer) {
        // One reservation for header, payload and trailer: a single growth at most.
        self.bytes.reserveWritableBytes(bytes.count &+ 24)
        self.bytes.writeByte(RESPType.bulkString.rawValue)
        self.bytes.writeDecimal(bytes.count)
        self.bytes.writeBytes(0x0D, 0x0A)
        self.bytes.writeBytes(bytes)
        self.bytes.writeBytes(0x0D, 0x0A)
    }

    /// Writes the UTF-8 bytes of `string` as a bulk string.
    @inlinable
    public mutating func writeRESPBulkString(_ string: some StringProtocol) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { writeRESPBulkString(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        var copy = String(string)
        copy.withUTF8 { writeRESPBulkString(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `value`'s decimal digits as a bulk string, building no `String`.
    @inlinable
    public mutating func writeRESPBulkString(_ value: Int) {
        // The header needs the digit count before the digits: count them arithmetically.
        bytes.writeByte(RESPType.bulkString.rawValue)
        bytes.writeDecimal(Bytes.decimalLength(value))
        bytes.writeBytes(0x0D, 0x0A)
        bytes.writeDecimal(value)
        bytes.writeBytes(0x0D, 0x0A)
    }

    /// Writes `payload` as a bulk string; a large one is kept by reference rather than copied,
    /// and sent from its own storage by a vectored write.
    @inlinable
    public mutating func writeRESPBulkString(_ payload: Bytes) {
        guard payload.readableBytes >= Self.referenceThreshold else {
            payload.withUnsafeReadableBytes { writeRESPBulkString($0) }
            return
        }
        bytes.writeByte(RESPType.bulkString.rawValue)
        bytes.writeDecimal(payload.readableBytes)
        bytes.writeBytes(0x0D, 0x0A)
        references.append(RESPCommandBuffer.Reference(offset: bytes.readableBytes, payload: payload))
        bytes.writeBytes(0x0D, 0x0A)
    }

    /// Writes a command: an array of bulk strings, one or more per argument.
    @inlinable
    public mutating func writeRESPCommand<each Argument: RESPArgument>(_ arguments: repeat each Argument) {
        var count = 0
        for argument in repeat each arguments { count &+= argument.respArgumentCount }
        writeRESPArrayHeader(count: count)
        for argument in repeat each arguments { argument.writeRESPArguments(into: &self) }
    }
}

extension String: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the UTF-8 bytes as a bulk string.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) { buffer.writeRESPBulkString(self) }
}

extension Substring: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the UTF-8 bytes as a bulk string.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) { buffer.writeRESPBulkString(self) }
}

extension StaticString: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the bytes as a bulk string.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {
        buffer.writeRESPBulkString(UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount))
    }
}

extension Bytes: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the readable bytes as a bulk string; a large value is sent without being copied.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {
        buffer.writeRESPBulkString(self)
    }
}

extension Int: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the decimal digits as a bulk string.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) { buffer.writeRESPBulkString(self) }
}

extension Double: RESPArgument {
    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the number as the server parses it: `inf`, `-inf`, or the shortest exact decimal.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {
        if isInfinite {
            buffer.writeRESPBulkString(self < 0 ? "-inf" : "inf")
        } else {
            buffer.writeRESPBulkString(description)
        }
    }
}

extension Optional: RESPArgument where Wrapped: RESPArgument {
    /// No argument when `nil`, otherwise the wrapped value's.
    @inlinable public var respArgumentCount: Int { self?.respArgumentCount ?? 0 }
    /// Writes the wrapped value's arguments, if any.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) { self?.writeRESPArguments(into: &buffer) }
}

extension Array: RESPArgument where Element: RESPArgument {
    /// The sum of the elements' argument counts.
    @inlinable public var respArgumentCount: Int {
        var count = 0
        for element in self { count &+= element.respArgumentCount }
        return count
    }
    /// Writes every element's arguments in order.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) {
        for element in self { element.writeRESPArguments(into: &buffer) }
    }
}

extension Bytes {
    /// The number of characters `writeDecimal(value)` writes.
    @inlinable
    public static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length &+= 1
        }
        return length
    }
}
