/// A cluster reply: one value, or one value per node when the command reached several nodes
/// whose replies don't combine (`INFO`, `CLIENT LIST` on all nodes, …).
public enum ClusterValue<Value: Sendable>: Sendable {
    /// One value: the command reached one node, or its replies combined into one.
    case single(Value)
    /// Each node's value, by the node's address.
    case perNode([NodeAddress: Value])

    /// The value, when there is one.
    public var singleValue: Value? {
        if case .single(let value) = self { return value }
        return nil
    }

    /// The values by node, when there are several.
    public var perNodeValues: [NodeAddress: Value]? {
        if case .perNode(let values) = self { return values }
        return nil
    }

    /// Every value: the single one, or each node's, in the order of the nodes' addresses.
    public var values: [Value] {
        switch self {
        case .single(let value): [value]
        case .perNode(let values): values.sorted { $0.key.description < $1.key.description }.map(\.value)
        }
    }
}

extension ClusterValue: Equatable where Value: Equatable {}
