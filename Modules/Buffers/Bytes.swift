/// A binary-safe byte buffer with value semantics, reader and writer indices, and cheap slices.
///
/// `Bytes` is both the I/O buffer of the transport and the bytes type of the public API: a value read
/// from the server is a slice of the buffer it arrived in, so no byte is copied between the socket and
/// the caller. Storage is reference-counted and copied only when a shared buffer is written to.
///
/// The readable bytes are those between `readerIndex` and `writerIndex`; reading moves the reader
/// index forward, writing appends at the writer index. As a `Collection`, a `Bytes` value is its
/// readable bytes, indexed from zero.
public struct Bytes: Sendable {
    @usableFromInline var _storage: Storage
    @usableFromInline var _readerIndex: Int
    @usableFromInline var _writerIndex: Int

    /// Reference-counted raw storage. Only ever written through a uniquely referenced `Bytes`.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        @usableFromInline let base: UnsafeMutableRawPointer
        @usableFromInline let capacity: Int

        @usableFromInline
        init(capacity: Int) {
            self.capacity = capacity
            // Sixteen-byte alignment keeps memcpy on its fast path.
            self.base = .allocate(byteCount: Swift.max(capacity, 1), alignment: 16)
        }

        deinit { base.deallocate() }

        /// The storage every empty `Bytes()` shares, so an empty value allocates nothing.
        @usableFromInline static let empty = Storage(capacity: 0)
    }

    @inlinable
    init(storage: Storage, readerIndex: Int, writerIndex: Int) {
        self._storage = storage
        self._readerIndex = readerIndex
        self._writerIndex = writerIndex
    }

    /// An empty buffer that allocates nothing until something is written.
    @inlinable
    public init() {
        self.init(storage: .empty, readerIndex: 0, writerIndex: 0)
    }

    /// An empty buffer with room for at least `capacity` bytes.
    @inlinable
    public init(capacity: Int) {
        precondition(capacity >= 0, "Bytes capacity must not be negative")
        if capacity == 0 {
            self.init()
        } else {
            self.init(storage: Storage(capacity: capacity), readerIndex: 0, writerIndex: 0)
        }
    }

    /// A buffer holding a copy of `bytes`.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        self.writeBytes(bytes)
    }

    /// A buffer holding a copy of `bytes`.
    @inlinable
    public init(_ bytes: some Sequence<UInt8>) {
        if let slice = bytes as? Bytes {
            self = slice
            return
        }
        self.init()
        self.writeBytes(bytes)
    }

    /// A buffer holding the UTF-8 encoding of `string`.
    @inlinable
    public init(_ string: some StringProtocol) {
        self.init()
        self.writeString(string)
    }

    /// The index of the first readable byte in the underlying storage.
    @inlinable public var readerIndex: Int { _readerIndex }

    /// The index one past the last readable byte in the underlying storage.
    @inlinable public var writerIndex: Int { _writerIndex }

    /// The number of readable bytes.
    @inlinable public var readableBytes: Int { _writerIndex &- _readerIndex }

    /// The number of bytes the storage holds in total.
    @inlinable public var capacity: Int { _storage.capacity }

    /// The number of bytes that can be written before the storage must grow.
    @inlinable public var writableBytes: Int { _storage.capacity &- _writerIndex }

    /// Whether this value is the only reference to its storage, so writes need no copy.
    @inlinable
    public mutating func isUniquelyReferenced() -> Bool {
        isKnownUniquelyReferenced(&_storage)
    }
}

// MARK: - Growth

extension Bytes {
    /// The smallest storage any growth allocates.
    @usableFromInline static let minimumGrowth = 64

    /// Makes room for `count` more bytes at the writer index, copying the readable bytes to new
    /// storage when this buffer is shared or too small.
    @inlinable
    public mutating func reserveWritableBytes(_ count: Int) {
        precondition(count >= 0, "cannot reserve a negative number of bytes")
        if _writerIndex &+ count <= _storage.capacity && isKnownUniquelyReferenced(&_storage) {
            return
        }
        _reserveSlowPath(count)
    }

    @usableFromInline
    mutating func _reserveSlowPath(_ count: Int) {
        let readable = readableBytes
        let (needed, overflow) = readable.addingReportingOverflow(count)
        precondition(!overflow, "Bytes cannot grow past Int.max")
        if isKnownUniquelyReferenced(&_storage), needed <= _storage.capacity {
            // Enough room once the consumed prefix is dropped: slide the readable bytes down.
            _compact()
            return
        }
        let grown = Swift.max(Self.minimumGrowth, Self.roundUpToPowerOfTwo(needed))
        let replacement = Storage(capacity: grown)
        if readable > 0 {
            replacement.base.copyMemory(from: _storage.base + _readerIndex, byteCount: readable)
        }
        _storage = replacement
        _readerIndex = 0
        _writerIndex = readable
    }

    @usableFromInline
    static func roundUpToPowerOfTwo(_ value: Int) -> Int {
        guard value > 1 else { return 1 }
        let shift = Int.bitWidth - (value - 1).leadingZeroBitCount
        return shift >= Int.bitWidth - 1 ? value : 1 << shift
    }

    @usableFromInline
    mutating func _compact() {
        let readable = readableBytes
        if readable > 0 && _readerIndex > 0 {
            (_storage.base).copyMemory(from: _storage.base + _readerIndex, byteCount: readable)
        }
        _readerIndex = 0
        _writerIndex = readable
    }

    /// Drops the bytes already read, moving the readable bytes to the front of the storage.
    ///
    /// A shared buffer gets fresh storage holding only its readable bytes.
    @inlinable
    public mutating func discardReadBytes() {
        guard _readerIndex > 0 else { return }
        if isKnownUniquelyReferenced(&_storage) {
            _compact()
        } else {
            self = _copied()
        }
    }

    /// Removes every byte. Unshared storage is kept for reuse.
    @inlinable
    public mutating func clear() {
        if isKnownUniquelyReferenced(&_storage) {
            _readerIndex = 0
            _writerIndex = 0
        } else {
            self = Bytes()
        }
    }

    /// Removes every byte and keeps room for at least `minimumCapacity` bytes without sharing.
    @inlinable
    public mutating func clear(minimumCapacity: Int) {
        if isKnownUniquelyReferenced(&_storage) && _storage.capacity >= minimumCapacity {
            _readerIndex = 0
            _writerIndex = 0
        } else {
            self = Bytes(capacity: minimumCapacity)
        }
    }

    /// A copy of the readable bytes in storage of their own, exactly as large as needed.
    @usableFromInline
    func _copied() -> Bytes {
        withUnsafeReadableBytes { Bytes($0) }
    }

    /// This value, or a compact copy of it when it holds a small part of a large storage.
    ///
    /// A slice keeps its whole storage alive; an application that stores small values read from
    /// the server should not pin the much larger receive buffer they arrived in.
    @inlinable
    public func compacted() -> Bytes {
        readableBytes * 2 >= _storage.capacity ? self : _copied()
    }
}

// MARK: - Raw access

extension Bytes {
    /// Calls `body` with the readable bytes.
    @inlinable
    public func withUnsafeReadableBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: _storage.base + _readerIndex, count: readableBytes))
    }

    /// Calls `body` with the writable spare capacity (at least `minimumWritableBytes` long); `body`
    /// returns how many bytes it wrote there, which then become readable.
    ///
    /// This is how the transport reads from a socket straight into the buffer.
    @inlinable
    public mutating func writeWithUnsafeMutableBytes<Failure: Error>(
        minimumWritableBytes: Int,
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        reserveWritableBytes(minimumWritableBytes)
        let spare = UnsafeMutableRawBufferPointer(start: _storage.base + _writerIndex, count: writableBytes)
        let written = try body(spare)
        precondition(written >= 0 && written <= spare.count, "wrote outside the spare capacity")
        _writerIndex &+= written
        return written
    }

    /// The address of the readable bytes, valid while `owner` (this value or a copy) is alive.
    ///
    /// Used by vectored writes, which need several buffers' addresses at once; callers keep the
    /// buffers alive with `withExtendedLifetime` for the duration of the system call.
    @inlinable
    public var _unsafeReadableAddress: UnsafeRawPointer {
        UnsafeRawPointer(_storage.base + _readerIndex)
    }
}
