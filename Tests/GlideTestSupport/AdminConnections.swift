import Foundation
import Glide

/// One admin client per test server, opened on first use: what the harnesses send their own
/// commands (`CLUSTER …`, `REPLICAOF`, `INFO`) over.
///
/// `@unchecked Sendable`: `clients` is read and written only under `lock`; the other properties
/// are immutable.
final class AdminConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [Int: GlideClient] = [:]
    private let configure: @Sendable (inout GlideClientConfiguration) -> Void

    /// Admin clients made with `configure` applied to each server's configuration.
    init(_ configure: @escaping @Sendable (inout GlideClientConfiguration) -> Void) {
        self.configure = configure
    }

    /// Sends `arguments` to `server` over its admin client.
    func command(_ server: TestServer, _ arguments: [String]) async throws -> RESPValue {
        let admin: GlideClient
        if let existing = lock.withLock({ clients[server.port] }) {
            admin = existing
        } else {
            admin = try await server.client(configure)
            lock.withLock { clients[server.port] = admin }
        }
        return try await admin.customCommand(arguments)
    }

    /// Forgets `server`'s admin client (its server was killed), closing it.
    func forget(_ server: TestServer) {
        guard let client = lock.withLock({ clients.removeValue(forKey: server.port) }) else { return }
        Task { await client.close() }
    }

    /// Closes every admin client.
    func closeAll() {
        let all = lock.withLock { () -> [GlideClient] in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { Task { await client.close() } }
    }
}
