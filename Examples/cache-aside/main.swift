// Cache-aside over a slow source, with the client-side cache in front: a read looks in the
// server first and loads from the source only on a miss; repeated reads of a hot key are then
// answered from the client's own memory, and a write by another client invalidates that copy
// (RESP3 `CLIENT TRACKING`), so the next read sees the new value. No read is ever stale.
// Usage: cache-aside [host] [port] [--cluster]
import Foundation
import Glide
import Synchronization

/// A slow system of record (a database, an HTTP service): 20 ms a read, and it counts its reads.
final class SlowSource: Sendable {
    let reads = Atomic<Int>(0)
    func price(of product: String) async throws -> String {
        reads.add(1, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(20))
        return "\(product.count * 100)"
    }
}

/// Reads a product's price: the server's copy (or the client's cached copy of it), else the source's,
/// stored in the server for an hour.
func price<Client: GlideCommandExecutor>(_ product: String, client: Client, source: SlowSource) async throws -> String {
    let key = "price:{\(product)}"
    if let cached: String = try await client.get(key) { return cached }
    let loaded = try await source.price(of: product)
    try await client.set(key, loaded, expiry: .seconds(3600))
    return loaded
}

func run<Client: GlideCommandExecutor>(
    _ client: Client, writer: Client, label: String, metrics: () -> ClientSideCacheMetrics?
) async throws {
    let source = SlowSource()
    let product = "lamp-\(UUID().uuidString.prefix(8))"
    let first = try await price(product, client: client, source: source)
    for _ in 0..<99 { _ = try await price(product, client: client, source: source) }
    let before = metrics()!
    print("\(label): 100 reads of \(product.prefix(4)) -> price \(first), \(source.reads.load(ordering: .relaxed)) read of the source")
    // Two or three reads miss: the first, the one after this client's own SET (which drops its
    // copy), and the next when the server's notice of that SET arrives after the read was cached
    // (servers differ in where they put it relative to the SET's reply).
    print("\(label): served from the client's memory -> \(before.hits >= 97 ? "97 or more" : "\(before.hits)") of 100")
    // Another client changes the price: the server tells this client to drop its copy, and a
    // cached read is confirmed (one shared PING) before it is answered, so the very next read
    // already sees the write.
    try await writer.set("price:{\(product)}", "999")
    let seen = try await price(product, client: client, source: source)
    let invalidated = metrics()!.invalidations > before.invalidations
    print("\(label): the first read after another client's write -> price \(seen), invalidation \(invalidated ? "seen" : "none")")
}

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--cluster" }
let host = arguments.first ?? "localhost"
let port = arguments.dropFirst().first.flatMap { Int($0) } ?? 6379
let address = NodeAddress(host: host, port: port)
// `VALKEY_REQUEST_TIMEOUT_MS` overrides the request timeout (the tests' sanitizer runs set it).
let timeout = ProcessInfo.processInfo.environment["VALKEY_REQUEST_TIMEOUT_MS"].flatMap { Int($0) }.map { Duration.milliseconds($0) }
let cache = ClientSideCache(maximumBytes: 16 << 20)
if CommandLine.arguments.contains("--cluster") {
    var configuration = GlideClusterClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let writer = try await GlideClusterClient.create(configuration)
    configuration.clientSideCache = cache
    let client = try await GlideClusterClient.create(configuration)
    try await run(client, writer: writer, label: "cluster") { client.clientSideCacheMetrics }
    await client.close()
    await writer.close()
} else {
    var configuration = GlideClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let writer = try await GlideClient.create(configuration)
    configuration.clientSideCache = cache
    let client = try await GlideClient.create(configuration)
    try await run(client, writer: writer, label: "standalone") { client.clientSideCacheMetrics }
    await client.close()
    await writer.close()
}
