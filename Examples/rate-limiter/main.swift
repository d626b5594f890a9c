// A sliding-window rate limiter: at most `limit` requests per caller in any window of `window`,
// decided atomically on the server by one script over a sorted set of the caller's recent
// requests (scored by the server's clock, so callers on many machines agree). A refused request
// learns how long until the oldest request leaves the window.
// Usage: rate-limiter [host] [port] [--cluster]
import Foundation
import Glide

/// The limiter, over any client: a caller's requests are one key, so it works on a cluster too.
struct SlidingWindowLimiter<Client: GlideCommandExecutor>: Sendable {
    let client: Client
    let limit: Int
    let window: Duration

    /// Drops the requests older than the window, then admits this one if there is room. Returns
    /// `{1, remaining}` when admitted, `{0, milliseconds until a slot frees}` when not.
    static var script: Script {
        Script(
            """
            local time = redis.call('TIME')
            local now = time[1] * 1000000 + time[2]
            local window = tonumber(ARGV[1]) * 1000
            redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
            local count = redis.call('ZCARD', KEYS[1])
            if count < tonumber(ARGV[2]) then
                redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
                redis.call('PEXPIRE', KEYS[1], ARGV[1])
                return {1, tonumber(ARGV[2]) - count - 1}
            end
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            return {0, math.ceil((tonumber(oldest[2]) + window - now) / 1000)}
            """)
    }

    enum Decision: Equatable, Sendable {
        case allowed(remaining: Int)
        case limited(retryAfter: Duration)
    }

    /// Whether `caller` may make one more request now.
    func attempt(_ caller: String) async throws -> Decision {
        let milliseconds = window.components.seconds * 1000 + window.components.attoseconds / 1_000_000_000_000_000
        let reply = try await client.invokeScript(
            Self.script, keys: ["rate:{\(caller)}"], args: [String(milliseconds), String(limit), UUID().uuidString], as: [Int].self)
        return reply[0] == 1 ? .allowed(remaining: reply[1]) : .limited(retryAfter: .milliseconds(reply[1]))
    }
}

func run<Client: GlideCommandExecutor>(_ client: Client, label: String) async throws {
    let limiter = SlidingWindowLimiter(client: client, limit: 5, window: .seconds(1))
    let caller = "ada-\(UUID().uuidString.prefix(8))"

    // A burst: the first five pass, the rest are told when to come back.
    var allowed = 0
    var retryAfter: Duration = .zero
    for _ in 0..<8 {
        switch try await limiter.attempt(caller) {
        case .allowed: allowed += 1
        case .limited(let wait): retryAfter = wait
        }
    }
    print("\(label): a burst of 8 -> \(allowed) allowed, \(8 - allowed) limited")
    print("\(label): told to retry within the window -> \(retryAfter > .zero && retryAfter <= .seconds(1))")
    // Coming back when told: the oldest request has left the window.
    try await Task.sleep(for: retryAfter)
    if case .allowed = try await limiter.attempt(caller) {
        print("\(label): after the wait -> allowed")
    } else {
        print("\(label): after the wait -> still limited")
    }

    // 50 concurrent attempts by another caller: the script is atomic, so exactly five pass.
    let other = "grace-\(UUID().uuidString.prefix(8))"
    let passed = try await withThrowingTaskGroup(of: Bool.self) { group in
        for _ in 0..<50 {
            group.addTask {
                if case .allowed = try await limiter.attempt(other) { return true }
                return false
            }
        }
        return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
    print("\(label): 50 concurrent attempts -> \(passed) allowed")
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
