/// What a cluster client needs to know to route a command, as constants: its policies and flags.
///
/// Generated commands state theirs as a literal, so once a call is specialised the checks on it
/// fold away; `CommandMetadata` has the same facts plus the key specifications.
public struct CommandRouting: Sendable, Hashable {
    /// Where the command goes when it names no key, or must reach several nodes.
    public var requestPolicy: RequestPolicy
    /// How the replies of several nodes combine.
    public var responsePolicy: ResponsePolicy
    /// The command's flags (`readonly`, `write`, `blocking`, …).
    public var flags: CommandFlags

    /// Routing facts.
    @inlinable
    public init(requestPolicy: RequestPolicy = .none, responsePolicy: ResponsePolicy = .none, flags: CommandFlags = []) {
        self.requestPolicy = requestPolicy
        self.responsePolicy = responsePolicy
        self.flags = flags
    }

    /// The routing facts of `metadata`.
    public init(_ metadata: CommandMetadata) {
        self.init(requestPolicy: metadata.requestPolicy, responsePolicy: metadata.responsePolicy, flags: metadata.flags)
    }

    /// For a command the table doesn't know: no policy and no flags, so it goes to a primary.
    public static let unknown = CommandRouting()

    /// Whether a replica may serve it.
    @inlinable public var isReadOnly: Bool { flags.contains(.readonly) }
}
