// A distributed lock with a fencing token: what a worker that stalls past its lock's TTL can and
// can't do afterwards. The lock is a key holding its owner's token, set only if absent with a TTL;
// each acquisition also takes the next number of a counter (the fencing token), in one script.
// The protected resource accepts a write only with a fencing token above the last one it saw, so a
// stalled worker's late write is refused; and a lock is released only by its owner (`DELIFEQ` on
// Valkey 9, a script elsewhere), so the stalled worker can't release its successor's lock.
// Usage: distributed-lock [host] [port] [--cluster]
import Foundation
import Glide

/// A named lock over any client: standalone or cluster (the lock's keys share a hash tag).
struct FencedLock<Client: GlideCommandExecutor> {
    let client: Client
    let name: String
    /// Whether the server has `DELIFEQ` (Valkey 9).
    let hasDeleteIfEqual: Bool

    var key: String { "lock:{\(name)}" }
    var fenceKey: String { "lock:{\(name)}:fence" }

    /// Sets the lock to `token` if nobody holds it, with a TTL, and takes the next fencing token.
    static var acquireScript: Script {
        Script(
            """
            if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
                return redis.call('INCR', KEYS[2])
            end
            return false
            """)
    }

    /// Deletes the lock only if it still holds `token`: for servers without `DELIFEQ`.
    static var releaseScript: Script {
        Script(
            """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """)
    }

    /// The fencing token if `token` got the lock for `ttl`, `nil` if someone holds it.
    func acquire(token: String, ttl: Duration) async throws -> Int? {
        let milliseconds = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        return try await client.invokeScript(
            Self.acquireScript, keys: [key, fenceKey], args: [token, String(milliseconds)], as: Int?.self)
    }

    /// Whether `token` still held the lock, which is now released.
    func release(token: String) async throws -> Bool {
        if hasDeleteIfEqual { return try await client.execute(DELIFEQ(key, token)) }
        return try await client.invokeScript(Self.releaseScript, keys: [key], args: [token], as: Int.self) == 1
    }
}

/// A resource that takes writes only with a fencing token above the last one it took.
struct FencedStore<Client: GlideCommandExecutor> {
    let client: Client
    let name: String

    static var writeScript: Script {
        Script(
            """
            local last = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
            if tonumber(ARGV[1]) <= last then return 0 end
            redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'value', ARGV[2])
            return 1
            """)
    }

    /// Whether the write with `fence` was taken.
    func write(_ value: String, fence: Int) async throws -> Bool {
        try await client.invokeScript(Self.writeScript, keys: ["store:{\(name)}"], args: [String(fence), value], as: Int.self) == 1
    }
}

/// The story: A takes the lock and stalls past its TTL; B takes it; A's late write and release
/// are refused; B's go through.
func run<Client: GlideCommandExecutor>(_ client: Client, label: String) async throws {
    let name = "report-\(UUID().uuidString.prefix(8))"
    // A server without `DELIFEQ` refuses it as an unknown command; a key nobody holds is safe to try.
    let hasDeleteIfEqual = (try? await client.execute(DELIFEQ("lock:{\(name)}", "nobody"))) != nil
    let lock = FencedLock(client: client, name: name, hasDeleteIfEqual: hasDeleteIfEqual)
    let store = FencedStore(client: client, name: name)
    print("\(label): releasing with \(lock.hasDeleteIfEqual ? "DELIFEQ" : "a script")")

    let ttl = Duration.seconds(2)
    guard let fenceA = try await lock.acquire(token: "worker-a", ttl: ttl) else { fatalError("the lock is new") }
    print("\(label): A acquired the lock with fence \(fenceA)")
    print("\(label): B while A holds it -> \(try await lock.acquire(token: "worker-b", ttl: ttl).map(String.init) ?? "refused")")
    // A stalls (a pause, a long GC, a lost network) for longer than its lock lives: here, until
    // the server has let the lock expire.
    while try await client.pttl(lock.key) != -2 { try await Task.sleep(for: .milliseconds(50)) }
    guard let fenceB = try await lock.acquire(token: "worker-b", ttl: .seconds(10)) else { fatalError("A's lock expired") }
    print("\(label): B acquired the lock with fence \(fenceB)")
    print("\(label): B wrote with fence \(fenceB) -> \(try await store.write("from B", fence: fenceB) ? "accepted" : "rejected")")
    // A wakes up, unaware, and carries on.
    let late = try await store.write("from A", fence: fenceA)
    print("\(label): A wrote with fence \(fenceA) -> \(late ? "accepted" : "rejected (stale fence)")")
    print("\(label): A released -> \(try await lock.release(token: "worker-a")) (the lock is B's)")
    print("\(label): B released -> \(try await lock.release(token: "worker-b"))")
    let value = try await client.hget("store:{\(name)}", "value")
    print("\(label): the store holds \(value ?? "nothing")")
}

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--cluster" }
let cluster = CommandLine.arguments.contains("--cluster")
let host = arguments.first ?? "localhost"
let port = arguments.dropFirst().first.flatMap { Int($0) } ?? 6379
let address = NodeAddress(host: host, port: port)
// `VALKEY_REQUEST_TIMEOUT_MS` overrides the request timeout (the tests' sanitizer runs set it).
let timeout = ProcessInfo.processInfo.environment["VALKEY_REQUEST_TIMEOUT_MS"].flatMap { Int($0) }.map { Duration.milliseconds($0) }
if cluster {
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
