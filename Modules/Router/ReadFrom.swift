/// Which node serves read-only commands.
public enum ReadFrom: Hashable, Sendable {
    /// Always the primary: the freshest data.
    case primary
    /// Replicas in turn, or the primary when no replica is reachable.
    case preferReplica
    /// Replicas in the client's availability zone in turn, then other replicas, then the primary.
    case azAffinity
    /// Replicas and then the primary in the client's availability zone, then any other node.
    case azAffinityReplicasAndPrimary
}

