// The quickstart: connect, write, read, count, run a transaction, and close.
// Usage: quickstart [host] [port]
import Glide

let arguments = CommandLine.arguments
let host = arguments.count > 1 ? arguments[1] : "localhost"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 6379 : 6379

var configuration = GlideClientConfiguration(addresses: [NodeAddress(host: host, port: port)])
configuration.clientName = "quickstart"
let client = try await GlideClient.create(configuration)

try await client.set("greeting", "Hello from swift-glide")
let greeting: String? = try await client.get("greeting")
print("GET greeting ->", greeting ?? "(nil)")

try await client.set("visits", "0")
let visits = try await client.incrBy("visits", 5)
print("INCRBY visits 5 ->", visits)

let binary = Bytes([0x00, 0xFF, 0x10])
try await client.set("raw", binary)
let raw: Bytes? = try await client.get("raw", as: Bytes.self)
print("binary round trip ->", raw.map { Array($0) } ?? [])

let results = try await client.exec(Transaction().set("tx-key", "tx-value").get("tx-key").incr("visits"))
print("transaction ->", results?.map(\.description) ?? ["(aborted)"])

let pong = try await client.ping()
print("PING ->", pong)
print("statistics ->", client.getStatistics())
await client.close()
