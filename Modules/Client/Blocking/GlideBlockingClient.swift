import GlideConnection
import GlideTransport

/// A `GlideClient` for code that can't await: command-line tools, callbacks of C libraries,
/// synchronous frameworks. Every call blocks its thread until the reply is in.
///
/// ```swift
/// let client = try GlideBlockingClient.create(GlideClientConfiguration(addresses: [NodeAddress(port: 6379)]))
/// try client.execute(SET("greeting", "hello"))
/// let greeting = try client.run { try await $0.get("greeting") }   // any async API, waited for
/// client.close()
/// ```
///
/// Safe from any thread that is not an event loop's. Called on an event loop's thread, or inside
/// a Swift task, it throws `.configuration` instead of blocking: there it would stall the loop
/// that must answer it, or a thread of the concurrency pool. The work runs on the client's event
/// loop, so many threads blocked at once never starve it.
public final class GlideBlockingClient: Sendable {
    /// The async client underneath, for the parts of a program that can await.
    public let client: GlideClient

    /// Wraps `client`.
    public init(_ client: GlideClient) {
        self.client = client
    }

    /// Connects as `GlideClient.create` does, blocking until the client is ready.
    public static func create(_ configuration: GlideClientConfiguration) throws(GlideError) -> GlideBlockingClient {
        let configuration = configuration.choosingLoop()
        return GlideBlockingClient(
            try BlockingBridge.wait(on: configuration.chosenLoop) { () throws(GlideError) in
                try await GlideClient.create(configuration)
            })
    }

    /// Sends `command` and returns its decoded reply (see `GlideClient.execute(_:)`).
    public func execute<Command: GlideCommand>(_ command: Command) throws(GlideError) -> Command.Response {
        let client = client
        return try BlockingBridge.wait(on: client.core.loop) { () throws(GlideError) in try await client.execute(command) }
    }

    /// Sends any command given as its arguments (see `GlideClient.customCommand(_:timeout:)`).
    public func customCommand(_ arguments: [String], timeout: Duration? = nil) throws(GlideError) -> RESPValue {
        let client = client
        return try BlockingBridge.wait(on: client.core.loop) { () throws(GlideError) in
            try await client.customCommand(arguments, timeout: timeout)
        }
    }

    /// Runs `body` with the async client and returns what it returns, or throws what it throws:
    /// any of its API (typed commands, batches, pub/sub) from blocking code.
    public func run<Value: Sendable>(_ body: @escaping @Sendable (GlideClient) async throws -> Value) throws -> Value {
        let client = client
        return try BlockingBridge.waitThrowingAny(on: client.core.loop) { try await body(client) }
    }

    /// Closes the client (see `GlideClient.close()`), blocking until everything stopped. Called
    /// where blocking is refused, it closes without waiting.
    public func close() {
        let client = client
        do {
            try BlockingBridge.wait(on: client.core.loop) { () throws(GlideError) in await client.close() }
        } catch {
            client.closeWithoutWaiting()
        }
    }
}

/// A `GlideClusterClient` for code that can't await, under the same rules as
/// `GlideBlockingClient`.
public final class GlideBlockingClusterClient: Sendable {
    /// The async client underneath.
    public let client: GlideClusterClient

    /// Wraps `client`.
    public init(_ client: GlideClusterClient) {
        self.client = client
    }

    /// Connects as `GlideClusterClient.create` does, blocking until the client is ready.
    public static func create(_ configuration: GlideClusterClientConfiguration) throws(GlideError) -> GlideBlockingClusterClient {
        let configuration = configuration.choosingLoop()
        return GlideBlockingClusterClient(
            try BlockingBridge.wait(on: configuration.chosenLoop) { () throws(GlideError) in
                try await GlideClusterClient.create(configuration)
            })
    }

    /// Sends `command` where its keys say and returns its decoded reply.
    public func execute<Command: GlideCommand>(_ command: Command) throws(GlideError) -> Command.Response {
        let client = client
        return try BlockingBridge.wait(on: client.engine.core.loop) { () throws(GlideError) in try await client.execute(command) }
    }

    /// Sends any command given as its arguments, where its keys or `route` say.
    public func customCommand(_ arguments: [String], route: Route? = nil, timeout: Duration? = nil) throws(GlideError)
        -> ClusterValue<RESPValue>
    {
        let client = client
        return try BlockingBridge.wait(on: client.engine.core.loop) { () throws(GlideError) in
            try await client.customCommand(arguments, route: route, timeout: timeout)
        }
    }

    /// Runs `body` with the async client and returns what it returns, or throws what it throws.
    public func run<Value: Sendable>(_ body: @escaping @Sendable (GlideClusterClient) async throws -> Value) throws -> Value {
        let client = client
        return try BlockingBridge.waitThrowingAny(on: client.engine.core.loop) { try await body(client) }
    }

    /// Closes the client, blocking until everything stopped; where blocking is refused, it
    /// closes without waiting.
    public func close() {
        let client = client
        do {
            try BlockingBridge.wait(on: client.engine.core.loop) { () throws(GlideError) in await client.close() }
        } catch {
            client.engine.closeWithoutWaiting()
        }
    }
}
