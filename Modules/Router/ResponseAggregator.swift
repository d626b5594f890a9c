import GlideBuffers
public import GlideRESPCodec

/// Replies that can't be combined as their policy says (an aggregate of non-integers, say).
public struct AggregationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What did not fit.
    public let message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

extension Router {
    /// Combines the replies of several nodes by `aggregation`.
    ///
    /// Server errors among the replies are values here: `oneSucceeded` and `firstNonNull` pass
    /// over them, every other policy returns the first one, so the caller sees the server's own
    /// error. `perNode` is not a combination (callers keep each node's reply) and is refused.
    public static func aggregate(_ replies: [RESPValue], by aggregation: ResponseAggregation) throws(AggregationError) -> RESPValue {
        guard let first = replies.first else { throw AggregationError("no replies to combine") }
        switch aggregation {
        case .oneSucceeded:
            return replies.first { !$0.isError } ?? replies[replies.count - 1]
        case .firstNonNull:
            if let value = replies.first(where: { !$0.isError && !$0.isNull }) { return value }
            return replies.last(where: \.isError) ?? .null
        case .perNode:
            throw AggregationError("per-node replies are not combined")
        default:
            break
        }
        if let error = replies.first(where: \.isError) { return error }
        switch aggregation {
        case .allSucceeded:
            return first
        case .sum:
            return .integer(try integers(replies).reduce(0) { $0 &+ $1 })
        case .minimum, .maximum:
            let smallest = aggregation == .minimum
            let combine: ([RESPValue]) throws(AggregationError) -> RESPValue = { values throws(AggregationError) in
                let numbers = try integers(values)
                return .integer((smallest ? numbers.min() : numbers.max()) ?? 0)
            }
            if first.arrayValue != nil { return try elementwise(replies, combine) }
            return try combine(replies)
        case .logicalAnd, .logicalOr:
            let and = aggregation == .logicalAnd
            let combine: ([RESPValue]) throws(AggregationError) -> RESPValue = { values throws(AggregationError) in
                let truths = try booleans(values)
                return .integer((and ? truths.allSatisfy { $0 } : truths.contains(true)) ? 1 : 0)
            }
            if first.arrayValue != nil { return try elementwise(replies, combine) }
            return try combine(replies)
        case .combineArrays:
            var combined: [RESPValue] = []
            for reply in replies {
                guard let elements = reply.arrayValue else { throw AggregationError("expected arrays to combine, got \(reply)") }
                combined += elements
            }
            return .array(combined)
        case .combineMaps:
            return try combineCounts(replies)
        case .oneSucceeded, .firstNonNull, .perNode:
            preconditionFailure("handled above")
        }
    }

    // MARK: Helpers

    static func integers(_ replies: [RESPValue]) throws(AggregationError) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(replies.count)
        for reply in replies {
            guard let value = reply.intValue else { throw AggregationError("expected integers to combine, got \(reply)") }
            result.append(value)
        }
        return result
    }

    static func booleans(_ replies: [RESPValue]) throws(AggregationError) -> [Bool] {
        var result: [Bool] = []
        for reply in replies {
            switch reply {
            case .boolean(let value): result.append(value)
            case .integer(let value): result.append(value != 0)
            default: throw AggregationError("expected booleans to combine, got \(reply)")
            }
        }
        return result
    }

    /// Combines arrays of equal length element by element.
    static func elementwise(_ replies: [RESPValue], _ combine: ([RESPValue]) throws(AggregationError) -> RESPValue) throws(AggregationError)
        -> RESPValue
    {
        var arrays: [[RESPValue]] = []
        for reply in replies {
            guard let elements = reply.arrayValue else { throw AggregationError("expected arrays to combine, got \(reply)") }
            arrays.append(elements)
        }
        let length = arrays[0].count
        guard arrays.allSatisfy({ $0.count == length }) else { throw AggregationError("arrays of different lengths") }
        var combined: [RESPValue] = []
        for index in 0..<length { combined.append(try combine(arrays.map { $0[index] })) }
        return .array(combined)
    }

    /// Merges `{name: count}` replies (maps, or flat arrays in RESP2), adding up the counts.
    static func combineCounts(_ replies: [RESPValue]) throws(AggregationError) -> RESPValue {
        var order: [Bytes] = []
        var totals: [Bytes: Int] = [:]
        var useMap = false
        for reply in replies {
            var pairs: [(RESPValue, RESPValue)] = []
            switch reply {
            case .map(let entries):
                useMap = true
                pairs = entries.map { ($0.key, $0.value) }
            case .array(let flat) where flat.count.isMultiple(of: 2):
                pairs = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
            default:
                throw AggregationError("expected maps to combine, got \(reply)")
            }
            for (key, value) in pairs {
                guard let name = key.bytesValue, let count = value.intValue else { throw AggregationError("expected name and count pairs") }
                if totals[name] == nil { order.append(name) }
                totals[name, default: 0] += count
            }
        }
        if useMap {
            return .map(order.map { RESPPair(key: .bulkString($0), value: .integer(totals[$0]!)) })
        }
        return .array(order.flatMap { [RESPValue.bulkString($0), .integer(totals[$0]!)] })
    }
}
