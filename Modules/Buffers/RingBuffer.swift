/// A growable first-in, first-out queue over a circular buffer, with value semantics.
///
/// Appending at the back and removing from the front are O(1), where `Array.removeFirst` is O(n).
/// Storage is copied only when a shared queue is mutated. Capacity is a power of two so positions
/// wrap with a mask instead of a division.
public struct RingBuffer<Element> {
    @usableFromInline var _storage: Storage

    /// The elements and the live window over them; the window is part of the storage so that
    /// `deinit` knows which slots to destroy.
    @usableFromInline
    final class Storage {
        @usableFromInline let elements: UnsafeMutablePointer<Element>
        @usableFromInline let mask: Int
        // Unchecked: each access is a plain read or write of an Int by the queue that owns the
        // storage, never held across a call; checked, the event loop's job and task queues made
        // about 30 `swift_beginAccess` calls per request.
        @exclusivity(unchecked) @usableFromInline var head = 0
        @exclusivity(unchecked) @usableFromInline var count = 0

        @usableFromInline
        init(capacity: Int) {
            self.mask = capacity &- 1
            self.elements = .allocate(capacity: capacity)
        }

        @inlinable var capacity: Int { mask &+ 1 }

        @inlinable
        func slot(_ offset: Int) -> Int { (head &+ offset) & mask }

        deinit {
            for offset in 0..<count { (elements + slot(offset)).deinitialize(count: 1) }
            elements.deallocate()
        }

        /// A new storage of `capacity` slots holding this one's elements from the front,
        /// moved out of this storage or copied.
        @usableFromInline
        func relocated(capacity: Int, copying: Bool) -> Storage {
            let replacement = Storage(capacity: capacity)
            for offset in 0..<count {
                let from = elements + slot(offset)
                if copying {
                    (replacement.elements + offset).initialize(to: from.pointee)
                } else {
                    (replacement.elements + offset).moveInitialize(from: from, count: 1)
                }
            }
            replacement.count = count
            // Moved-out elements belong to the replacement now.
            if !copying { count = 0 }
            return replacement
        }
    }

    /// An empty queue with room for at least `minimumCapacity` elements.
    @inlinable
    public init(minimumCapacity: Int = 16) {
        self._storage = Storage(capacity: Swift.max(2, Self.powerOfTwo(atLeast: minimumCapacity)))
    }

    @usableFromInline
    static func powerOfTwo(atLeast value: Int) -> Int {
        var capacity = 1
        while capacity < value { capacity <<= 1 }
        return capacity
    }

    /// The number of elements.
    @inlinable public var count: Int { _storage.count }

    /// Whether the queue is empty.
    @inlinable public var isEmpty: Bool { _storage.count == 0 }

    /// The number of elements the queue holds before it must grow.
    @inlinable public var capacity: Int { _storage.capacity }

    /// The element `offset` places from the front.
    @inlinable
    public subscript(offset: Int) -> Element {
        get {
            precondition(offset >= 0 && offset < _storage.count, "RingBuffer offset out of range")
            return _storage.elements[_storage.slot(offset)]
        }
        _modify {
            precondition(offset >= 0 && offset < _storage.count, "RingBuffer offset out of range")
            _makeUnique()
            yield &_storage.elements[_storage.slot(offset)]
        }
    }

    /// The element at the front, if any.
    @inlinable public var first: Element? { isEmpty ? nil : _storage.elements[_storage.head] }

    /// The element at the back, if any.
    @inlinable public var last: Element? { isEmpty ? nil : _storage.elements[_storage.slot(_storage.count &- 1)] }

    /// Adds `element` at the back.
    @inlinable
    public mutating func append(_ element: Element) {
        _makeUnique()
        if _storage.count == _storage.capacity {
            _storage = _storage.relocated(capacity: _storage.capacity &* 2, copying: false)
        }
        (_storage.elements + _storage.slot(_storage.count)).initialize(to: element)
        _storage.count &+= 1
    }

    /// Removes and returns the element at the front.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard _storage.count > 0 else { return nil }
        _makeUnique()
        let element = (_storage.elements + _storage.head).move()
        _storage.head = (_storage.head &+ 1) & _storage.mask
        _storage.count &-= 1
        return element
    }

    /// Removes and returns the element at the back.
    @inlinable
    public mutating func popLast() -> Element? {
        guard _storage.count > 0 else { return nil }
        _makeUnique()
        _storage.count &-= 1
        return (_storage.elements + _storage.slot(_storage.count)).move()
    }

    /// Removes the first `k` elements.
    @inlinable
    public mutating func removeFirst(_ k: Int) {
        precondition(k >= 0 && k <= _storage.count, "cannot remove more elements than the queue holds")
        for _ in 0..<k { _ = popFirst() }
    }

    /// Removes every element, keeping the storage when asked to.
    @inlinable
    public mutating func removeAll(keepingCapacity: Bool = false) {
        if keepingCapacity {
            while popFirst() != nil {}
            _storage.head = 0
        } else {
            self = RingBuffer()
        }
    }

    /// Makes room for at least `minimumCapacity` elements.
    @inlinable
    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        _makeUnique()
        if minimumCapacity > _storage.capacity {
            _storage = _storage.relocated(capacity: Self.powerOfTwo(atLeast: minimumCapacity), copying: false)
        }
    }

    @inlinable
    mutating func _makeUnique() {
        if !isKnownUniquelyReferenced(&_storage) {
            _storage = _storage.relocated(capacity: _storage.capacity, copying: true)
        }
    }
}

extension RingBuffer: Sequence {
    /// Iterates from front to back.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let buffer: RingBuffer
        @usableFromInline var offset = 0

        @inlinable
        init(buffer: RingBuffer) { self.buffer = buffer }

        /// The next element from the front, or `nil` at the end.
        @inlinable
        public mutating func next() -> Element? {
            guard offset < buffer.count else { return nil }
            defer { offset &+= 1 }
            return buffer[offset]
        }
    }

    /// An iterator from front to back.
    @inlinable
    public func makeIterator() -> Iterator { Iterator(buffer: self) }

    /// The element count: iteration is exact.
    @inlinable public var underestimatedCount: Int { count }
}

extension RingBuffer: @unchecked Sendable where Element: Sendable {}

extension RingBuffer: ExpressibleByArrayLiteral {
    /// A queue holding the literal's elements, first element at the front.
    @inlinable
    public init(arrayLiteral elements: Element...) {
        self.init(minimumCapacity: elements.count)
        for element in elements { append(element) }
    }
}

extension RingBuffer: CustomStringConvertible {
    /// The elements from front to back, like an array prints them.
    public var description: String { Array(self).description }
}
