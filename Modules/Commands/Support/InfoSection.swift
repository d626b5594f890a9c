/// A section of `INFO`'s report: pass one wherever `INFO` takes a section.
public struct InfoSection: RawRepresentable, Sendable, Hashable, BulkStringConvertible {
    /// The section's name as `INFO` takes it.
    public let rawValue: String
    /// A section by name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The section name.
    public var bulkString: BulkString { BulkString(rawValue) }

    /// `server`: version, process, uptime.
    public static let server = InfoSection(rawValue: "server")
    /// `clients`: connected clients.
    public static let clients = InfoSection(rawValue: "clients")
    /// `memory`: memory use.
    public static let memory = InfoSection(rawValue: "memory")
    /// `persistence`: RDB and AOF.
    public static let persistence = InfoSection(rawValue: "persistence")
    /// `stats`: general statistics.
    public static let stats = InfoSection(rawValue: "stats")
    /// `replication`: role and replicas.
    public static let replication = InfoSection(rawValue: "replication")
    /// `cpu`: CPU use.
    public static let cpu = InfoSection(rawValue: "cpu")
    /// `commandstats`: per-command statistics.
    public static let commandStats = InfoSection(rawValue: "commandstats")
    /// `latencystats`: per-command latency percentiles.
    public static let latencyStats = InfoSection(rawValue: "latencystats")
    /// `cluster`: cluster state.
    public static let cluster = InfoSection(rawValue: "cluster")
    /// `modules`: loaded modules.
    public static let modules = InfoSection(rawValue: "modules")
    /// `keyspace`: keys per database.
    public static let keyspace = InfoSection(rawValue: "keyspace")
    /// `errorstats`: error counts.
    public static let errorStats = InfoSection(rawValue: "errorstats")
    /// `all`: every section but modules.
    public static let all = InfoSection(rawValue: "all")
    /// `default`: the default set.
    public static let `default` = InfoSection(rawValue: "default")
    /// `everything`: every section.
    public static let everything = InfoSection(rawValue: "everything")
}
