extension Bytes {
    /// Appends a copy of `bytes`.
    @inlinable
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0 else { return }
        reserveWritableBytes(count)
        (_storage.base + _writerIndex).copyMemory(from: bytes.baseAddress!, byteCount: count)
        _writerIndex &+= count
    }

    /// Appends the readable bytes of `other`.
    @inlinable
    public mutating func writeBytes(_ other: Bytes) {
        other.withUnsafeReadableBytes { writeBytes($0) }
    }

    /// Appends the bytes of any sequence, copying contiguous storage in one step when it has one.
    @inlinable
    public mutating func writeBytes(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { writeBytes(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        reserveWritableBytes(bytes.underestimatedCount)
        for byte in bytes { writeByte(byte) }
    }

    /// Appends one byte.
    @inlinable
    public mutating func writeByte(_ byte: UInt8) {
        reserveWritableBytes(1)
        (_storage.base + _writerIndex).storeBytes(of: byte, as: UInt8.self)
        _writerIndex &+= 1
    }

    /// Appends two bytes.
    @inlinable
    public mutating func writeBytes(_ first: UInt8, _ second: UInt8) {
        reserveWritableBytes(2)
        let at = _storage.base + _writerIndex
        at.storeBytes(of: first, as: UInt8.self)
        (at + 1).storeBytes(of: second, as: UInt8.self)
        _writerIndex &+= 2
    }

    /// Appends the UTF-8 encoding of `string`.
    @inlinable
    public mutating func writeString(_ string: some StringProtocol) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { writeBytes(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        var copy = String(string)
        copy.withUTF8 { writeBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Appends the bytes of a static string.
    @inlinable
    public mutating func writeStaticString(_ string: StaticString) {
        writeBytes(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    /// Appends `value` as ASCII decimal digits, with a leading `-` when negative, building no `String`.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        // Twenty bytes hold Int.min's digits and sign.
        reserveWritableBytes(20)
        let start = _storage.base + _writerIndex
        var magnitude = value.magnitude
        var length = 0
        if value < 0 {
            start.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
            length = 1
        }
        let digitsStart = start + length
        var digits = 0
        repeat {
            let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
            (digitsStart + digits).storeBytes(of: UInt8(truncatingIfNeeded: remainder) &+ 48, as: UInt8.self)
            digits &+= 1
            magnitude = quotient
        } while magnitude != 0
        // The digits went in least significant first; put them in reading order.
        var low = 0
        var high = digits - 1
        while low < high {
            let a = (digitsStart + low).load(as: UInt8.self)
            (digitsStart + low).storeBytes(of: (digitsStart + high).load(as: UInt8.self), as: UInt8.self)
            (digitsStart + high).storeBytes(of: a, as: UInt8.self)
            low &+= 1
            high &-= 1
        }
        _writerIndex &+= length &+ digits
    }

    /// Moves the writer index back to `index`, dropping everything written after it.
    ///
    /// Used to undo a partly written frame.
    @inlinable
    public mutating func moveWriterIndex(to index: Int) {
        precondition(index >= _readerIndex && index <= _writerIndex, "writer index out of range")
        _writerIndex = index
    }
}
