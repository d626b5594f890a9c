/// Where a client reports what it does: logs, metrics and traces, through three hooks with no
/// dependency of their own. Each is optional, and a client without any costs one check per
/// request. `Docs/observability.md` shows how to forward them to swift-log, swift-metrics and
/// swift-distributed-tracing.
///
/// ```swift
/// var configuration = GlideClientConfiguration()
/// configuration.observability = GlideObservability(logger: MyLogger(), metrics: MyMetrics(), tracer: MyTracer())
/// ```
public struct GlideObservability: Sendable {
    /// Receives the client's log messages.
    public var logger: (any GlideLogger)?
    /// Receives counters, gauges and histograms.
    public var metrics: (any GlideMetrics)?
    /// Starts a span per command and per batch.
    public var tracer: (any GlideTracer)?

    /// Hooks for logs, metrics and traces; any may be `nil`.
    public init(logger: (any GlideLogger)? = nil, metrics: (any GlideMetrics)? = nil, tracer: (any GlideTracer)? = nil) {
        self.logger = logger
        self.metrics = metrics
        self.tracer = tracer
    }
}

/// How much a log message matters, as swift-log's levels.
public enum GlideLogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    /// Orders by severity.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Receives the client's log messages: connections made and lost, reconnection backoff,
/// topology refreshes, resubscriptions, failed requests.
public protocol GlideLogger: Sendable {
    /// The least severe level worth a message: below it the client doesn't build one.
    var logLevel: GlideLogLevel { get }
    /// One message, with structured metadata (`server.address`, `error.code`, …).
    func log(_ level: GlideLogLevel, _ message: String, metadata: [String: String])
}

/// Receives the client's measurements. Dimensions are label pairs (`("db.operation.name", "GET")`).
public protocol GlideMetrics: Sendable {
    /// Adds `amount` to a counter.
    func increment(_ counter: String, by amount: Int, dimensions: [(String, String)])
    /// Sets a gauge to `value`.
    func gauge(_ gauge: String, _ value: Double, dimensions: [(String, String)])
    /// Records a duration in nanoseconds into a histogram (a timer).
    func record(_ histogram: String, nanoseconds: Int64, dimensions: [(String, String)])
}

/// Starts a span for each command and batch, with OpenTelemetry's database attributes:
/// `db.system.name` (`valkey`), `db.operation.name`, `db.namespace` (the database number),
/// `server.address`, `server.port`, and for a batch `db.operation.batch.size`.
public protocol GlideTracer: Sendable {
    /// A span named `name` (the command, `PIPELINE` or `MULTI`) that has started.
    func startSpan(_ name: String, attributes: [String: String]) -> any GlideSpan
}

/// One traced operation.
public protocol GlideSpan: Sendable {
    /// The operation failed with `error` (`error.type` is its code).
    func recordError(_ error: GlideError)
    /// The operation ended.
    func end()
}
