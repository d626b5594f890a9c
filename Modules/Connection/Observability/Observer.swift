package import GlideTransport

/// A client's hooks, as the client calls them: the names of its metrics and the attributes of
/// its spans, written once for both clients. Only a client with hooks has one, so without them
/// a request checks one optional.
package final class Observer: Sendable {
    package let hooks: GlideObservability
    /// `db.namespace`: the configured database.
    package let namespace: String

    package init(_ hooks: GlideObservability, database: Int) {
        self.hooks = hooks
        namespace = String(database)
    }

    // MARK: Requests

    /// Runs one request (a command, or a batch of `batchSize`) under a span and records its
    /// duration and outcome: `glide.requests` by operation and outcome, `glide.request.duration`,
    /// and `glide.timeouts`.
    package func request<Value>(
        _ operation: String, node: NodeAddress?, batchSize: Int? = nil,
        _ body: () async throws(GlideError) -> Value
    ) async throws(GlideError) -> Value {
        var attributes = ["db.system.name": "valkey", "db.operation.name": operation, "db.namespace": namespace]
        if let node {
            attributes["server.address"] = node.host
            attributes["server.port"] = String(node.port)
        }
        if let batchSize { attributes["db.operation.batch.size"] = String(batchSize) }
        let span = hooks.tracer?.startSpan(operation, attributes: attributes)
        let start = Deadline.now()
        do {
            let value = try await body()
            finished(operation, start: start, outcome: "ok")
            span?.end()
            return value
        } catch {
            finished(operation, start: start, outcome: Self.outcome(of: error))
            if error.code == .timeout { hooks.metrics?.increment("glide.timeouts", by: 1, dimensions: [("db.operation.name", operation)]) }
            log(.debug, "\(operation) failed: \(error.message)", ["db.operation.name": operation, "error.type": error.code.description])
            span?.recordError(error)
            span?.end()
            throw error
        }
    }

    private func finished(_ operation: String, start: Deadline, outcome: String) {
        guard let metrics = hooks.metrics else { return }
        let elapsed = Deadline.now() - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        metrics.increment("glide.requests", by: 1, dimensions: [("db.operation.name", operation), ("outcome", outcome)])
        metrics.record("glide.request.duration", nanoseconds: nanoseconds, dimensions: [("db.operation.name", operation)])
    }

    private static func outcome(of error: GlideError) -> String {
        switch error.code {
        case .server: "server_error"
        case .timeout: "timeout"
        case .connectionClosed, .connectionFailed: "connection_error"
        case .cancelled: "cancelled"
        case .circuitOpen: "circuit_open"
        default: "error"
        }
    }

    // MARK: Events

    /// A request is tried again: `glide.redirections` for `MOVED`/`ASK`, `glide.retries`
    /// otherwise, by `kind` (the server's error code, or `connection`).
    package func retried(_ kind: String) {
        let redirection = kind == "MOVED" || kind == "ASK" || kind == "REDIRECT"
        hooks.metrics?.increment(redirection ? "glide.redirections" : "glide.retries", by: 1, dimensions: [("kind", kind)])
        log(.debug, redirection ? "redirected (\(kind))" : "retrying after \(kind)", ["kind": kind])
    }

    /// A connection to `node` is ready.
    package func connected(_ node: String) {
        hooks.metrics?.increment("glide.connections.opened", by: 1, dimensions: [("server.address", node)])
        log(.info, "connected to \(node)", ["server.address": node])
    }

    /// A ready connection to `node` was lost; it is reconnected at once.
    package func lost(_ node: String, _ reason: String) {
        hooks.metrics?.increment("glide.reconnects", by: 1, dimensions: [("server.address", node)])
        log(.warning, "connection to \(node) lost, reconnecting: \(reason)", ["server.address": node, "reason": reason])
    }

    /// An attempt to connect to `node` failed; the next one is `backoff` away (the
    /// `glide.reconnect.backoff` gauge, in milliseconds).
    package func attemptFailed(_ node: String, _ reason: String, backoff: Duration?, failures: Int) {
        hooks.metrics?.increment("glide.connections.failed", by: 1, dimensions: [("server.address", node)])
        let milliseconds = backoff.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
        if let milliseconds { hooks.metrics?.gauge("glide.reconnect.backoff", milliseconds, dimensions: [("server.address", node)]) }
        log(
            .warning,
            "connecting to \(node) failed (\(failures) in a row): \(reason)"
                + (milliseconds.map { "; next attempt in \(Int($0)) ms" } ?? "; no further attempt (definitive)"),
            ["server.address": node, "reason": reason, "backoff.ms": milliseconds.map { String(Int($0)) } ?? "none"])
    }

    /// Requests waiting for replies on `node`'s connection (the periodic check's sample).
    package func inflight(_ node: String, _ count: Int) {
        hooks.metrics?.gauge("glide.requests.inflight", Double(count), dimensions: [("server.address", node)])
    }

    /// The cluster client adopted a new view of its topology.
    package func topologyRefreshed(nodes: Int, reason: String) {
        hooks.metrics?.increment("glide.topology.refreshes", by: 1, dimensions: [("reason", reason)])
        log(.info, "topology refreshed (\(reason)): \(nodes) nodes", ["reason": reason, "nodes": String(nodes)])
    }

    /// `node`'s circuit breaker opened or closed: `glide.circuit_breaker.openings` on opening, and
    /// the log line either way.
    package func circuitBreaker(_ node: String, opened: Bool, _ description: String) {
        if opened { hooks.metrics?.increment("glide.circuit_breaker.openings", by: 1, dimensions: [("server.address", node)]) }
        log(opened ? .warning : .info, description, ["server.address": node])
    }

    /// A repair made subscriptions again, after a loss, a move or a server's own unsubscription.
    package func resubscribed() {
        hooks.metrics?.increment("glide.pubsub.resubscriptions", by: 1, dimensions: [])
        log(.info, "pub/sub: subscriptions made again", [:])
    }

    // MARK: Logging

    package func log(_ level: GlideLogLevel, _ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String]) {
        guard let logger = hooks.logger, level >= logger.logLevel else { return }
        logger.log(level, message(), metadata: metadata())
    }
}

/// The events both clients report, in one place: the process-wide counts of `getStatistics()`
/// always, the streams of `events()` when one is open, and the hooks when the configuration has
/// them.
package struct ClientEvents: Sendable {
    package let observer: Observer?
    /// What `events()` streams; `nil` for a part with no client behind it.
    package let stream: Broadcast<GlideEvent>?

    package init(observer: Observer?, stream: Broadcast<GlideEvent>?) {
        self.observer = observer
        self.stream = stream
    }

    /// Events that reach the hooks only: for a part with no client behind it.
    package init(observer: Observer?) {
        self.init(observer: observer, stream: nil)
    }

    /// A client's stream of events: each consumer's buffer holds `capacity` events, and when it is
    /// full the oldest is dropped and counted (`eventsDropped`). Nobody sees an event that
    /// happens while no stream is open.
    package static func makeStream(capacity: Int = 1_000) -> Broadcast<GlideEvent> {
        Broadcast(capacity: capacity, holdsWhileNoConsumer: false) { GlideStatistics.eventsDropped.add(1, ordering: .relaxed) }
    }

    /// `event` to the open streams, and to the hooks: `glide.events` by kind, and a log line for
    /// the kinds the other hooks don't already log.
    package func emit(_ event: GlideEvent, logged: Bool = false) {
        stream?.yield(event)
        guard let observer else { return }
        observer.hooks.metrics?.increment("glide.events", by: 1, dimensions: [("event", event.kind)])
        if logged { observer.log(.info, event.description, ["event": event.kind]) }
    }

    /// `node` as the connections name it (`host:port`, `unix:path`).
    package static func address(_ node: String) -> NodeAddress {
        if node.hasPrefix("unix:") { return .unixSocket(String(node.dropFirst(5))) }
        return NodeAddress(parsing: node) ?? NodeAddress(host: node, port: 0)
    }

    /// A request is tried again after `kind` (`MOVED`, `ASK`, a transient server error, or
    /// `connection`).
    package func retried(_ kind: String) {
        if kind == "MOVED" || kind == "ASK" || kind == "REDIRECT" {
            GlideStatistics.redirections.add(1, ordering: .relaxed)
        } else {
            GlideStatistics.retries.add(1, ordering: .relaxed)
        }
        observer?.retried(kind)
    }

    /// A connection to `node` is ready.
    package func connected(_ node: String) {
        observer?.connected(node)
        emit(.connectionReady(Self.address(node)))
    }

    /// A ready connection to `node` was lost.
    package func lost(_ node: String, _ reason: String) {
        GlideStatistics.reconnects.add(1, ordering: .relaxed)
        observer?.lost(node, reason)
        emit(.connectionLost(Self.address(node), reason: reason))
    }

    /// An attempt to connect to `node` failed; the next is `backoff` away (`nil`: none).
    package func attemptFailed(_ node: String, _ reason: String, backoff: Duration?, failures: Int) {
        GlideStatistics.connectionFailures.add(1, ordering: .relaxed)
        observer?.attemptFailed(node, reason, backoff: backoff, failures: failures)
        emit(.connectAttemptFailed(Self.address(node), reason: reason, failures: failures, retryIn: backoff))
    }

    /// The periodic sample of requests waiting on `node`'s connection.
    package func inflight(_ node: String, _ count: Int) {
        observer?.inflight(node, count)
    }

    /// The cluster client adopted a changed topology.
    package func topologyRefreshed(nodes: Int, reason: String) {
        GlideStatistics.topologyRefreshes.add(1, ordering: .relaxed)
        observer?.topologyRefreshed(nodes: nodes, reason: reason)
    }

    /// `node`'s circuit breaker opened or closed (`GlideStatistics` counts the openings where
    /// the breaker does, with its rejections).
    package func circuitBreaker(_ node: String, opened: Bool, _ description: String) {
        observer?.circuitBreaker(node, opened: opened, description)
        emit(opened ? .circuitBreakerOpened(Self.address(node)) : .circuitBreakerClosed(Self.address(node)))
    }

    /// A repair made subscriptions again.
    package func resubscribed() {
        GlideStatistics.pubsubResubscriptions.add(1, ordering: .relaxed)
        observer?.resubscribed()
        emit(.pubsubResubscribed)
    }

    /// A replica became the primary, in place of `from` when it was known.
    package func failover(from: NodeAddress?, to: NodeAddress) {
        emit(.failover(from: from, to: to), logged: true)
    }

    /// The client-side cache dropped entries for `reason`.
    package func cacheFlushed(_ reason: String) {
        emit(.cacheFlushed(reason: reason), logged: true)
    }
}
