/// How much the next read of a connection asks for: as much as recent reads brought, between a
/// floor and `NodeConnection.readSize`.
///
/// A reply handed to its caller is a slice of the buffer it was read into, so the buffer lives
/// until the last of its replies is dropped, and the next read needs a fresh one. Sized for the
/// largest read, every small read would pin the whole of it while its replies wait for their
/// callers: with thousands of requests in flight that is most of the client's memory. A read that
/// fills its buffer doubles the next; a run of reads using a quarter of it or less halves it.
package struct ReadSizing: Sendable, Equatable {
    /// The smallest size a read asks for.
    package static let minimum = 2 * 1024
    /// The size a connection's first read asks for.
    package static let initial = 16 * 1024
    /// How many small reads in a row halve the size.
    package static let smallReadsToShrink = 8

    /// What the next read asks for.
    package private(set) var next: Int
    private let maximum: Int
    private var smallReads = 0

    /// Sizes reads between `minimum` and `maximum`, starting at `initial` (or `maximum` if lower).
    package init(maximum: Int) {
        self.maximum = maximum
        self.next = Swift.min(Self.initial, maximum)
    }

    /// Records a read that asked for `asked` bytes and brought `count`.
    package mutating func record(read count: Int, asked: Int) {
        if count >= asked {
            smallReads = 0
            next = Swift.min(maximum, Swift.max(next, asked) * 2)
        } else if count * 4 <= next {
            smallReads += 1
            if smallReads >= Self.smallReadsToShrink {
                smallReads = 0
                next = Swift.max(Self.minimum, next / 2)
            }
        } else {
            smallReads = 0
        }
    }
}
