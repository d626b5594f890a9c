// Batches and scripts: a bulk load as one pipeline, a transfer between two accounts as one
// transaction, an optimistic update with WATCH on a dedicated connection, and a rate limiter as a
// Lua script run by its digest.
// Usage: transactions [host] [port]
import Glide

let arguments = CommandLine.arguments
let host = arguments.count > 1 ? arguments[1] : "localhost"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 6379 : 6379
let client = try await GlideClient.create(GlideClientConfiguration(addresses: [NodeAddress(host: host, port: port)]))

// A pipeline: 1,000 commands in one write, each running on its own, results in order.
var load = Batch(isAtomic: false)
for index in 0..<1_000 { load.add(SET("product:\(index)", "stock:\(index % 7)")) }
let size = load.add(DBSIZE())
let loaded = try await client.exec(load)!
print("loaded \(loaded.count - 1) products; the database holds \(try loaded[size]) keys")

// A transaction: both balances change, or neither does; typed results by slot.
try await client.set("account:ada", "100")
try await client.set("account:grace", "20")
var transfer = Batch(isAtomic: true)
let ada = transfer.add(DECRBY("account:ada", decrement: 30))
let grace = transfer.add(INCRBY("account:grace", increment: 30))
let moved = try await client.exec(transfer)!
print("after the transfer: ada \(try moved[ada]), grace \(try moved[grace])")

// WATCH on a dedicated connection: the debit commits only if nobody changed the balance since it
// was read. (On the shared connection WATCH is refused: another caller's EXEC would end it.)
let committed = try await client.withDedicatedConnection { connection in
    try await connection.watch(["account:ada"])
    let balance = Int(try await connection.get("account:ada") ?? "0") ?? 0
    var debit = Batch(isAtomic: true)
    debit.add(SET("account:ada", String(balance - 5)))
    return try await connection.exec(debit) != nil
}
print(
    "optimistic debit \(committed ? "committed" : "aborted: the balance changed"); ada now has \(try await client.get("account:ada") ?? "?")"
)

// A failing command inside a pipeline: its error stays in its slot, the others ran.
var mixed = Batch(isAtomic: false)
mixed.add(SET("note", "text"))
let broken = mixed.add(INCR("note"))
let note = mixed.add(GET("note"))
let results = try await client.exec(mixed, raiseOnError: false)!
do {
    _ = try results[broken]
} catch {
    print("INCR failed as expected: \(error.message); GET still read \(try results[note] ?? "nil")")
}

// A script, sent by its SHA-1 digest; the code itself goes only when the server lacks it.
let limiter = Script(
    """
    local count = redis.call('INCR', KEYS[1])
    if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
    return count
    """)
for attempt in 1...3 {
    let count = try await client.invokeScript(limiter, keys: ["rate:ada"], args: ["60"], as: Int.self)
    print("request \(attempt) from ada: \(count) in this minute")
}
try await client.scriptFlush()
print("after SCRIPT FLUSH the script still runs: \(try await client.invokeScript(limiter, keys: ["rate:ada"], args: ["60"], as: Int.self))")
await client.close()
