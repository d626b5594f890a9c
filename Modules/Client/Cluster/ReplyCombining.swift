import GlideConnection
import GlideRouter
import GlideTransport

/// Several nodes' replies to one command made into its one reply: what a cluster request sent to
/// several nodes, or split by slot, answers, alone or in a batch.
enum ReplyCombining {
    /// Combines replies by `aggregation` into one token, from the tokens themselves when the
    /// aggregation allows it; a server error among them throws.
    static func combine(_ replies: [RESPToken], by aggregation: ResponseAggregation, name: String) throws(GlideError) -> RESPToken {
        let combined: RESPToken?
        let value: RESPValue?
        do throws(AggregationError) {
            combined = try Router.aggregate(tokens: replies, by: aggregation)
            value = combined == nil ? try Router.aggregate(replies.map { RESPValue($0) }, by: aggregation) : nil
        } catch {
            throw GlideError(.protocolError, "\(name): \(error.message)")
        }
        let result: RESPToken
        if let combined { result = combined } else { result = try token(value!) }
        if result.type.isError { throw GlideError.server(result, address: nil) }
        return result
    }

    /// Combines the replies of a split command's parts, in the parts' order: their elements put
    /// back in the order of the original keys (`MGET`), or by `aggregation` (`DEL`, `MSET`, …).
    static func combine(_ parts: [RESPToken], of split: SlotSplit, by aggregation: ResponseAggregation, name: String)
        throws(GlideError) -> RESPToken
    {
        guard aggregation == .combineArrays else { return try combine(parts, by: aggregation, name: name) }
        do throws(AggregationError) {
            return try Router.reassemble(parts, of: split)
        } catch {
            throw GlideError(.protocolError, "\(name): \(error.message)")
        }
    }

    /// Each node's reply to a command that has no one reply for several nodes (`INFO`), as a map
    /// from the node's address to its reply.
    static func byNode(_ replies: [(NodeAddress, RESPToken)]) throws(GlideError) -> RESPToken {
        try token(.map(replies.map { RESPPair(key: .bulkString(Bytes($0.0.description)), value: RESPValue($0.1)) }))
    }

    /// A combined value as a token, for the command's own decoding.
    static func token(_ value: RESPValue) throws(GlideError) -> RESPToken {
        do {
            return try RESPToken(validating: value.encoded())
        } catch {
            throw GlideError(.protocolError, "could not re-encode a combined reply: \(error)")
        }
    }
}
