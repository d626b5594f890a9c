/// A type that a reply can be decoded into.
///
/// Conversions accept both protocol versions: a RESP2 map arrives as a flat array, a RESP2 double
/// as a bulk string, a RESP2 boolean as an integer. Attributes are skipped.
public protocol RESPTokenDecodable: Sendable {
    /// Decodes `token`, or throws when its type or contents don't fit.
    init(fromRESP token: RESPToken) throws(RESPConversionError)
}

/// A reply that has the wrong shape for the type asked for.
public struct RESPConversionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The type that was asked for.
    public let expected: String
    /// The type that arrived.
    public let actual: RESPType
    /// For an error nested in an aggregate, the server's message.
    public let serverMessage: String?

    /// A mismatch between `expected` and the token that arrived.
    public init(expected: String, token: RESPToken) {
        self.expected = expected
        self.actual = token.unwrappingAttributes.type
        self.serverMessage = actual.isError ? token.stringBytes?.string : nil
    }

    /// What was expected and what arrived.
    public var description: String {
        if let serverMessage {
            return "expected \(expected), got the server error '\(serverMessage)'"
        }
        return "expected \(expected), got a RESP \(actual)"
    }
}

extension RESPToken: RESPTokenDecodable {
    /// The token itself.
    public init(fromRESP token: RESPToken) { self = token }
}

extension RESPValue: RESPTokenDecodable {
    /// The token's tree.
    public init(fromRESP token: RESPToken) { self.init(token) }
}

extension Bytes: RESPTokenDecodable {
    /// The payload of a string-like reply (simple, bulk or verbatim string, double, big number) or
    /// the digits of an integer. Small values are copied out of the receive buffer so that keeping
    /// them does not keep that buffer alive.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        if !token.type.isError, let bytes = token.payloadBytes {
            self = bytes.compacted()
        } else if let integer = token.integerPayload {
            self = Bytes(String(integer))
        } else {
            throw RESPConversionError(expected: "Bytes", token: token)
        }
    }
}

extension String: RESPTokenDecodable {
    /// The UTF-8 text of a string-like reply, or an integer's or boolean's text.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        if !token.type.isError, let bytes = token.payloadBytes {
            self = bytes.string
        } else if let integer = token.integerPayload {
            self = String(integer)
        } else if let boolean = token.booleanPayload {
            self = boolean ? "1" : "0"
        } else {
            throw RESPConversionError(expected: "String", token: token)
        }
    }
}

extension Int: RESPTokenDecodable {
    /// An integer reply, or a string reply holding a decimal integer.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        if let integer = token.integerPayload {
            self = integer
        } else if let boolean = token.booleanPayload {
            self = boolean ? 1 : 0
        } else if !token.type.isError, let text = token.payloadBytes,
            let integer = text.withUnsafeReadableBytes({ ASCII.parseInt($0, from: 0, to: $0.count) })
        {
            self = integer
        } else {
            throw RESPConversionError(expected: "Int", token: token)
        }
    }
}

extension Double: RESPTokenDecodable {
    /// A double reply, an integer reply, or a string reply holding a number (RESP2 sends doubles
    /// as bulk strings).
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        if let double = token.doubleValue {
            self = double
        } else if let integer = token.integerPayload {
            self = Double(integer)
        } else if !token.type.isError, let text = token.payloadBytes, let double = Double(text.string) {
            self = double
        } else {
            throw RESPConversionError(expected: "Double", token: token)
        }
    }
}

extension Bool: RESPTokenDecodable {
    /// A boolean reply, an integer reply (non-zero is true), or `OK` (true).
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        // One unwrap, and `OK` (every SET) read from the frame without a slice.
        if let boolean = token.booleanPayload {
            self = boolean
        } else if let integer = token.integerPayload {
            self = integer != 0
        } else if token.isOK {
            self = true
        } else {
            throw RESPConversionError(expected: "Bool", token: token)
        }
    }
}

extension Optional: RESPTokenDecodable where Wrapped: RESPTokenDecodable {
    /// `nil` for a null reply, otherwise the wrapped type's decoding.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        if token.isNull {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: token))
        }
    }
}

extension Array: RESPTokenDecodable where Element: RESPTokenDecodable {
    /// The decoded elements of an array, set or push reply. A RESP3 map gives its keys and
    /// values in turn, as RESP2 would.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let elements = token.elements else {
            throw RESPConversionError(expected: "Array", token: token)
        }
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for element in elements { result.append(try Element(fromRESP: element)) }
        self = result
    }
}

extension Dictionary: RESPTokenDecodable where Key: RESPTokenDecodable, Value: RESPTokenDecodable {
    /// The entries of a map reply, or of a flat RESP2 array of alternating keys and values.
    /// A key that repeats keeps its last value.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let elements = token.elements, elements.count % 2 == 0 else {
            throw RESPConversionError(expected: "Dictionary", token: token)
        }
        var result: [Key: Value] = [:]
        result.reserveCapacity(elements.count / 2)
        var iterator = elements.makeIterator()
        while let key = iterator.next(), let value = iterator.next() {
            result[try Key(fromRESP: key)] = try Value(fromRESP: value)
        }
        self = result
    }
}
