/// `PING [message]`: `PONG`, or the message echoed back.
public struct PING: GlideCommand {
    /// `PONG` or the message.
    public typealias Response = String
    /// `PING`
    public static var name: String { "PING" }
    /// What to echo; `nil` gets `PONG`.
    public var message: String?

    /// Pings the server.
    @inlinable
    public init(_ message: String? = nil) { self.message = message }

    /// Writes `PING [message]`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("PING" as StaticString, message) }
}

/// `ECHO message`: the message back.
public struct ECHO<Message: RESPArgument & Sendable, Value: RESPTokenDecodable>: GlideCommand {
    /// The message.
    public typealias Response = Value
    /// `ECHO`
    public static var name: String { "ECHO" }
    /// What to echo.
    public var message: Message

    /// Echoes `message`.
    @inlinable
    public init(_ message: Message, as: Value.Type = Value.self) { self.message = message }

    /// Writes `ECHO message`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("ECHO" as StaticString, message) }
}

/// `SELECT index`: switches the connection to another logical database.
public struct SELECT: GlideCommand {
    /// `OK`.
    public typealias Response = Void
    /// `SELECT`
    public static var name: String { "SELECT" }
    /// The database number.
    public var index: Int

    /// Selects database `index`.
    @inlinable
    public init(_ index: Int) { self.index = index }

    /// Writes `SELECT index`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("SELECT" as StaticString, index) }

    /// Accepts the `OK`.
    @inlinable
    public func decodeResponse(_ token: RESPToken) throws(RESPConversionError) {}
}

/// A section of `INFO`'s report.
public struct InfoSection: RawRepresentable, Sendable, Hashable, RESPArgument {
    /// The section's name as `INFO` takes it.
    public let rawValue: String
    /// A section by name.
    public init(rawValue: String) { self.rawValue = rawValue }

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

    /// One argument.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the section name.
    @inlinable public func writeRESPArguments(into buffer: inout RESPCommandBuffer) { buffer.writeRESPBulkString(rawValue) }
}

/// `INFO [section ...]`: the server's report as text.
public struct INFO: GlideCommand {
    /// The report.
    public typealias Response = String
    /// `INFO`
    public static var name: String { "INFO" }
    /// The sections to report; empty for the default set.
    public var sections: [InfoSection]

    /// Asks for `sections`.
    @inlinable
    public init(_ sections: [InfoSection] = []) { self.sections = sections }

    /// Writes `INFO sections...`.
    @inlinable
    public func encode(into buffer: inout RESPCommandBuffer) { buffer.writeRESPCommand("INFO" as StaticString, sections) }
}
