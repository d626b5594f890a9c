/// The type of a RESP value, named by the byte that starts it on the wire.
public enum RESPType: UInt8, Sendable, Hashable, CaseIterable {
    /// `+`: a short, binary-unsafe string such as `OK`.
    case simpleString = 0x2B
    /// `-`: an error line such as `ERR unknown command`.
    case simpleError = 0x2D
    /// `:`: a signed 64-bit integer.
    case integer = 0x3A
    /// `$`: a length-prefixed, binary-safe string; `$-1` is the RESP2 null.
    case bulkString = 0x24
    /// `*`: an array; `*-1` is the RESP2 null array.
    case array = 0x2A
    /// `_`: the RESP3 null.
    case null = 0x5F
    /// `#`: a RESP3 boolean, `t` or `f`.
    case boolean = 0x23
    /// `,`: a RESP3 double, including `inf`, `-inf` and `nan`.
    case double = 0x2C
    /// `(`: a RESP3 integer of any size, as decimal digits.
    case bigNumber = 0x28
    /// `!`: a RESP3 length-prefixed error.
    case bulkError = 0x21
    /// `=`: a RESP3 string with a three-letter format, such as `txt:` or `mkd:`.
    case verbatimString = 0x3D
    /// `%`: a RESP3 map of key-value pairs.
    case map = 0x25
    /// `~`: a RESP3 set.
    case set = 0x7E
    /// `|`: RESP3 attributes: a map of metadata that precedes the value it describes.
    case attribute = 0x7C
    /// `>`: a RESP3 out-of-band message, such as a pub/sub delivery or an invalidation.
    case push = 0x3E

    /// Whether values of this type hold other values.
    @inlinable
    public var isAggregate: Bool {
        switch self {
        case .array, .map, .set, .attribute, .push: true
        default: false
        }
    }

    /// Whether values of this type are errors sent by the server.
    @inlinable
    public var isError: Bool { self == .simpleError || self == .bulkError }
}
