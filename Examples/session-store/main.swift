// A session store: each session a key with a TTL, read with `GETEX`, which slides the expiry in
// the same command, so an active session lives on and an abandoned one lapses on its own.
// Usage: session-store [host] [port] [--cluster]
import Foundation
import Glide

struct SessionStore<Client: GlideCommandExecutor> {
    let client: Client
    /// How long a session lives after its last use.
    let idleLifetime: Duration

    func key(_ id: String) -> String { "session:\(id)" }

    var seconds: Int { Int(idleLifetime.components.seconds) }

    /// Starts a session holding `data`; its id.
    func create(_ data: String) async throws -> String {
        let id = UUID().uuidString
        try await client.set(key(id), data, condition: .nx, expiry: .seconds(seconds))
        return id
    }

    /// The session's data, its lifetime renewed; `nil` when it lapsed or was ended.
    func touch(_ id: String) async throws -> String? {
        try await client.getex(key(id), expiry: .seconds(seconds))
    }

    /// Ends the session now (a logout).
    func end(_ id: String) async throws -> Bool {
        try await client.del([key(id)]) == 1
    }
}

func run<Client: GlideCommandExecutor>(_ client: Client, label: String) async throws {
    // Sessions created with a 1-second lifetime; the active one is then used with a 30-second one.
    let short = SessionStore(client: client, idleLifetime: .seconds(1))
    let active = try await short.create("user=ada")
    let idle = try await short.create("user=grace")
    print("\(label): two sessions live -> \(try await client.exists([short.key(active), short.key(idle)]))")
    let long = SessionStore(client: client, idleLifetime: .seconds(30))
    print("\(label): ada uses hers -> \(try await long.touch(active) ?? "gone")")
    // Time passes: the idle one's lifetime runs out (waited for on the server, not guessed).
    while try await client.pttl(short.key(idle)) != -2 { try await Task.sleep(for: .milliseconds(50)) }
    print("\(label): grace's idle session -> \(try await short.touch(idle) ?? "expired")")
    let left = try await client.ttl(short.key(active))
    print("\(label): ada's session -> \(try await long.touch(active) ?? "gone"), renewed to \(left > 25 ? "about 30 s" : "\(left) s")")
    print("\(label): ada logs out -> \(try await short.end(active))")
    print("\(label): ada's session after logout -> \(try await short.touch(active) ?? "gone")")
}

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--cluster" }
let host = arguments.first ?? "localhost"
let port = arguments.dropFirst().first.flatMap { Int($0) } ?? 6379
let address = NodeAddress(host: host, port: port)
// `VALKEY_REQUEST_TIMEOUT_MS` overrides the request timeout (the tests' sanitizer runs set it).
let timeout = ProcessInfo.processInfo.environment["VALKEY_REQUEST_TIMEOUT_MS"].flatMap { Int($0) }.map { Duration.milliseconds($0) }
if CommandLine.arguments.contains("--cluster") {
    var configuration = GlideClusterClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClusterClient.create(configuration)
    try await run(client, label: "cluster")
    await client.close()
} else {
    var configuration = GlideClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClient.create(configuration)
    try await run(client, label: "standalone")
    await client.close()
}
