/// Bytes that are not valid RESP.
///
/// A public struct over a private code, so new codes can be added without breaking callers. The
/// decoder that threw it must be discarded with its connection: the stream can't be resynchronised.
public struct RESPDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline
    enum Code: Hashable, Sendable {
        case invalidTypeByte(UInt8)
        case invalidLength
        case lengthTooLarge
        case missingCRLF
        case invalidInteger
        case invalidDouble
        case invalidBoolean
        case invalidBigNumber
        case invalidNull
        case invalidVerbatimString
        case nestingTooDeep(limit: Int)
        case frameTooLong(limit: Int)
    }

    @usableFromInline let code: Code
    /// How far into the frame the problem was found.
    public let offset: Int

    @inlinable
    init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// What went wrong, for matching in `switch` or `==`.
    public var kind: Kind {
        switch code {
        case .invalidTypeByte: .invalidTypeByte
        case .invalidLength: .invalidLength
        case .lengthTooLarge: .lengthTooLarge
        case .missingCRLF: .missingCRLF
        case .invalidInteger: .invalidInteger
        case .invalidDouble: .invalidDouble
        case .invalidBoolean: .invalidBoolean
        case .invalidBigNumber: .invalidBigNumber
        case .invalidNull: .invalidNull
        case .invalidVerbatimString: .invalidVerbatimString
        case .nestingTooDeep: .nestingTooDeep
        case .frameTooLong: .frameTooLong
        }
    }

    /// The kinds of malformed input.
    public struct Kind: Hashable, Sendable {
        let name: String
        /// A value started with a byte that is no RESP type.
        public static let invalidTypeByte = Kind(name: "invalid type byte")
        /// A length or count was not a number, was negative, or was `-1` where null is not allowed.
        public static let invalidLength = Kind(name: "invalid length")
        /// A length or count was above the decoder's limit.
        public static let lengthTooLarge = Kind(name: "length too large")
        /// A line or a bulk payload was not terminated by `\r\n`.
        public static let missingCRLF = Kind(name: "missing CRLF")
        /// An integer was not a decimal number that fits in 64 bits.
        public static let invalidInteger = Kind(name: "invalid integer")
        /// A double was not a decimal number, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Kind(name: "invalid double")
        /// A boolean was neither `t` nor `f`.
        public static let invalidBoolean = Kind(name: "invalid boolean")
        /// A big number had something other than an optional sign and digits.
        public static let invalidBigNumber = Kind(name: "invalid big number")
        /// A RESP3 null carried a payload.
        public static let invalidNull = Kind(name: "invalid null")
        /// A verbatim string lacked its `xxx:` format prefix.
        public static let invalidVerbatimString = Kind(name: "invalid verbatim string")
        /// Aggregates were nested deeper than the decoder's limit.
        public static let nestingTooDeep = Kind(name: "nesting too deep")
        /// A whole frame announced or reached more bytes than the decoder's limit.
        public static let frameTooLong = Kind(name: "frame too long")
    }

    /// What was wrong and where.
    public var description: String {
        let detail: String
        switch code {
        case .invalidTypeByte(let byte):
            let shown = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x\(String(byte, radix: 16))"
            detail = "invalid RESP type byte \(shown)"
        case .nestingTooDeep(let limit): detail = "aggregates nested deeper than \(limit) levels"
        case .frameTooLong(let limit): detail = "a reply longer than the limit of \(limit) bytes"
        default: detail = kind.name
        }
        return "malformed RESP: \(detail) at byte \(offset) of the frame"
    }
}
