/// One page of a `SCAN`-family iteration: the cursor to continue from, and the elements.
public struct ScanPage: RESPTokenDecodable, Sendable, Hashable {
    /// The cursor for the next call; `"0"` when the iteration is complete.
    public let cursor: String
    /// The elements of this page (for `HSCAN` and `ZSCAN`, fields or members and their values in turn).
    public let elements: [Bytes]

    /// Whether this is the last page.
    public var isComplete: Bool { cursor == "0" }

    /// Decodes `[cursor, [elements...]]`.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let parts = token.elements.map(Array.init), parts.count == 2 else {
            throw RESPConversionError(expected: "ScanPage", token: token)
        }
        cursor = try String(fromRESP: parts[0])
        elements = try [Bytes](fromRESP: parts[1])
    }
}

/// A sorted-set member with its score.
public struct ScoredMember: Sendable, Hashable {
    /// The member.
    public let member: Bytes
    /// Its score.
    public let score: Double

    /// A member and score.
    public init(member: Bytes, score: Double) {
        self.member = member
        self.score = score
    }
}

/// Sorted-set members with their scores, in the order the server sent them.
///
/// Decodes both forms: RESP3's `[[member, score], ...]` and RESP2's flat
/// `[member, score, member, score, ...]`.
public struct ScoredMembers: RESPTokenDecodable, RandomAccessCollection, Sendable, Hashable {
    /// The members and scores.
    public let members: [ScoredMember]

    /// Members and scores, in order.
    public init(_ members: [ScoredMember]) { self.members = members }

    /// Decodes either form.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let elements = token.elements.map(Array.init) else {
            throw RESPConversionError(expected: "ScoredMembers", token: token)
        }
        var result: [ScoredMember] = []
        if elements.allSatisfy({ $0.type == .array }) {
            for pair in elements {
                guard let parts = pair.elements.map(Array.init), parts.count == 2 else {
                    throw RESPConversionError(expected: "ScoredMember", token: pair)
                }
                result.append(ScoredMember(member: try Bytes(fromRESP: parts[0]), score: try Double(fromRESP: parts[1])))
            }
        } else {
            guard elements.count % 2 == 0 else { throw RESPConversionError(expected: "ScoredMembers", token: token) }
            for index in stride(from: 0, to: elements.count, by: 2) {
                result.append(
                    ScoredMember(
                        member: try Bytes(fromRESP: elements[index]),
                        score: try Double(fromRESP: elements[index + 1])))
            }
        }
        members = result
    }

    /// Zero.
    public var startIndex: Int { 0 }
    /// The number of members.
    public var endIndex: Int { members.count }
    /// The member at `position`.
    public subscript(position: Int) -> ScoredMember { members[position] }
}

/// A stream entry: its ID and its fields and values, in order.
public struct StreamEntry: RESPTokenDecodable, Sendable, Hashable {
    /// The entry ID, such as `1700000000000-0`.
    public let id: String
    /// The fields and their values, in the order they were added.
    public let fields: [FieldValue]

    /// A field and its value.
    public struct FieldValue: Sendable, Hashable {
        /// The field.
        public let field: Bytes
        /// Its value.
        public let value: Bytes
    }

    /// The value of `field`, if the entry has it.
    public subscript(field: String) -> Bytes? {
        fields.first { $0.field == Bytes(field) }?.value
    }

    /// Decodes `[id, [field, value, ...]]`.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let parts = token.elements.map(Array.init), parts.count == 2 else {
            throw RESPConversionError(expected: "StreamEntry", token: token)
        }
        id = try String(fromRESP: parts[0])
        let flat = try [Bytes](fromRESP: parts[1])
        guard flat.count % 2 == 0 else { throw RESPConversionError(expected: "StreamEntry fields", token: parts[1]) }
        fields = stride(from: 0, to: flat.count, by: 2).map { FieldValue(field: flat[$0], value: flat[$0 + 1]) }
    }
}

/// The longitude and latitude of a member of a geo set.
public struct GeoPosition: RESPTokenDecodable, Sendable, Hashable {
    /// Degrees east.
    public let longitude: Double
    /// Degrees north.
    public let latitude: Double

    /// Decodes `[longitude, latitude]`.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let parts = token.elements.map(Array.init), parts.count == 2 else {
            throw RESPConversionError(expected: "GeoPosition", token: token)
        }
        longitude = try Double(fromRESP: parts[0])
        latitude = try Double(fromRESP: parts[1])
    }
}

/// What `XREAD` and `XREADGROUP` return: the entries read from each stream, in the order the
/// server sent the streams.
///
/// Decodes RESP3's map and RESP2's array of `[key, entries]` pairs alike.
public struct StreamsReadResult: RESPTokenDecodable, Sendable, Hashable {
    /// A stream and the entries read from it.
    public struct Stream: Sendable, Hashable {
        /// The stream's key.
        public let key: String
        /// Its entries.
        public let entries: [StreamEntry]
    }

    /// The streams with entries.
    public let streams: [Stream]

    /// The entries read from `key`, if any.
    public subscript(key: String) -> [StreamEntry]? {
        streams.first { $0.key == key }?.entries
    }

    /// Decodes either form.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        let token = token.unwrappingAttributes
        guard let elements = token.elements.map(Array.init) else {
            throw RESPConversionError(expected: "StreamsReadResult", token: token)
        }
        var streams: [Stream] = []
        if token.type == .map {
            for index in stride(from: 0, to: elements.count - 1, by: 2) {
                streams.append(
                    Stream(
                        key: try String(fromRESP: elements[index]),
                        entries: try Self.entries(elements[index + 1])))
            }
        } else {
            for pair in elements {
                guard let parts = pair.elements.map(Array.init), parts.count == 2 else {
                    throw RESPConversionError(expected: "[key, entries]", token: pair)
                }
                streams.append(Stream(key: try String(fromRESP: parts[0]), entries: try Self.entries(parts[1])))
            }
        }
        self.streams = streams
    }

    /// Entries, where a deleted entry read from a group's history is `[id, nil]` and is skipped.
    static func entries(_ token: RESPToken) throws(RESPConversionError) -> [StreamEntry] {
        guard let elements = token.elements else { throw RESPConversionError(expected: "stream entries", token: token) }
        var entries: [StreamEntry] = []
        for element in elements {
            if let parts = element.elements.map(Array.init), parts.count == 2, parts[1].isNull { continue }
            entries.append(try StreamEntry(fromRESP: element))
        }
        return entries
    }
}

/// The key a blocking pop took an element from, with the element (`BLPOP`, `BRPOP`).
public struct KeyedElement<Value: RESPTokenDecodable>: RESPTokenDecodable, Sendable {
    /// The key the element came from.
    public let key: Bytes
    /// The element.
    public let element: Value

    /// Decodes `[key, element]`.
    public init(fromRESP token: RESPToken) throws(RESPConversionError) {
        guard let parts = token.elements.map(Array.init), parts.count == 2 else {
            throw RESPConversionError(expected: "[key, element]", token: token)
        }
        key = try Bytes(fromRESP: parts[0])
        element = try Value(fromRESP: parts[1])
    }
}
