// glide-microbench: the cost of routing a cluster request, without I/O: nanoseconds and heap
// allocations per operation. The cluster target is that routing allocates nothing. Two lines
// measure a cross-slot MGET of 100 keys (split, then its replies put back), per key, one the
// connection state machine's share of a pipelined request, and two a node's circuit breaker.
//
//   glide-microbench [-n iterations] [--csv]
import CAllocationCounter
import Foundation
import Glide
import GlideCommands
import GlideConnection
import GlideRESPCodec
import GlideRouter

struct Options {
    var iterations = 2_000_000
    var csv = false
}

let options: Options = {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let flag = arguments.next() {
        switch flag {
        case "-n": options.iterations = arguments.next().flatMap(Int.init) ?? options.iterations
        case "--csv": options.csv = true
        default:
            print("usage: glide-microbench [-n iterations] [--csv]")
            exit(flag == "--help" ? 0 : 2)
        }
    }
    return options
}()

// A three-shard map, as discovery builds it.
let topology = ClusterTopology(
    shards: (0..<3).map { index in
        ClusterShard(
            slots: [UInt16(index * 5461)...UInt16(min(16383, index * 5461 + 5460))],
            primary: ClusterNode(address: NodeAddress(host: "10.0.0.\(index)", port: 7000), role: .primary),
            replicas: [ClusterNode(address: NodeAddress(host: "10.0.1.\(index)", port: 7000), role: .replica)])
    })
let map = SlotMap(topology)
let keys: [String] = (0..<1024).map { "user:\($0):profile" }
let byteKeys: [Bytes] = keys.map { Bytes($0) }

/// Runs `body` `iterations` times and reports nanoseconds and allocations per call, or per one
/// of the `units` items each call handles.
@inline(never)
func measure(_ name: String, iterations: Int = options.iterations, units: Int = 1, csv: Bool = options.csv, _ body: (Int) -> Int) {
    var sink = 0
    for index in 0..<10_000 { sink &+= body(index) }  // warm-up: lazy globals, caches
    let allocationsBefore = glide_allocation_count()
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<iterations { sink &+= body(index) }
    let elapsed = DispatchTime.now().uptimeNanoseconds - start
    let allocations = Double(glide_allocation_count() - allocationsBefore) / Double(iterations * units)
    let nanoseconds = Double(elapsed) / Double(iterations * units)
    if csv {
        print("\"\(name)\",\"\(String(format: "%.1f", nanoseconds))\",\"\(String(format: "%.4f", allocations))\",\"\(sink & 1)\"")
    } else {
        print("\(name): \(String(format: "%.1f", nanoseconds)) ns/op, \(String(format: "%.4f", allocations)) allocations/op")
    }
}

measure("slot of a String key + slot map lookup") { index in
    let slot = HashSlot.of(keys[index & 1023])
    return map.shardIndex(forSlot: slot) ?? -1
}
measure("slot of a Bytes key + slot map lookup") { index in
    map.shardIndex(forSlot: HashSlot.of(byteKeys[index & 1023])) ?? -1
}
measure("routing decision for GET (keys visited, policy, slot, node)") { index in
    let command = GET(keys[index & 1023])
    let decision = Router.decide(name: GET.name, routing: GET.routing, keySlots: Router.keySlots(of: command))
    guard case .slot(let slot, let replicaAllowed) = decision.target, let shard = map.shardIndex(forSlot: slot) else { return -1 }
    return replicaAllowed ? shard : shard + 1
}
measure("routing decision for SET with options") { index in
    let command = SET(keys[index & 1023], "value", condition: .nx, expiration: .seconds(10))
    let decision = Router.decide(name: SET.name, routing: SET.routing, keySlots: Router.keySlots(of: command))
    guard case .slot(let slot, _) = decision.target else { return -1 }
    return map.shardIndex(forSlot: slot) ?? -1
}
let mgets = keys.map { MGET(["{\($0)}a", "{\($0)}b", "{\($0)}c"]) }
measure("routing decision for a same-slot MGET of 3 keys") { index in
    let command = mgets[index & 1023]
    let decision = Router.decide(name: MGET.name, routing: MGET.routing, keySlots: Router.keySlots(of: command))
    guard case .slot(let slot, _) = decision.target else { return -1 }
    return map.shardIndex(forSlot: slot) ?? -1
}
// A cross-slot MGET of 100 keys over the three shards: encoded once, split by slot (a part per
// slot, each encoded once from the original frames), each part's shard looked up; then the
// parts' replies put back in key order from their tokens.
let mgetMetadata = CommandTable.metadata(named: "MGET")!
let wideMGETs = (0..<16).map { MGET(Array(keys[($0 * 57) % 900..<($0 * 57) % 900 + 100])) }
measure("MGET of 100 keys over 3 shards: encode and split, per key", iterations: options.iterations / 100, units: 100) { index in
    var buffer = RESPCommandBuffer()
    wideMGETs[index & 15].encode(into: &buffer)
    guard let split = Router.splitBySlot(buffer, metadata: mgetMetadata) else { return -1 }
    var shards = 0
    for part in split.parts { shards &+= map.shardIndex(forSlot: part.slot) ?? 0 }
    return shards &+ split.encoded.readableBytes
}
let sampleSplit: SlotSplit = {
    var buffer = RESPCommandBuffer()
    wideMGETs[0].encode(into: &buffer)
    return Router.splitBySlot(buffer, metadata: mgetMetadata)!
}()
let sampleReplies: [RESPToken] = sampleSplit.parts.map { part in
    var reply = Bytes()
    reply.writeString("*\(part.keys.count)\r\n" + String(repeating: "$5\r\nvalue\r\n", count: part.keys.count))
    return try! RESPToken(validating: reply)
}
measure("MGET of 100 keys over 3 shards: replies put back in key order, per key", iterations: options.iterations / 100, units: 100) { _ in
    (try? Router.reassemble(sampleReplies, of: sampleSplit))?.bytes.readableBytes ?? -1
}
measure("replica choice (ReadFrom.azAffinity)") { index in
    let shard = map.shards[index % 3]
    return ReadFrom.azAffinity.replicaIndex(in: shard, clientAZ: "zone-a", rotation: index) ?? -1
}
var probe = ConnectionStateMachineProbe()
measure("connection state machine: queue, write and reply, per request", iterations: options.iterations / 16, units: 16) { _ in
    probe.round()
}
// A node's circuit breaker: what a request pays while it is closed (admitted, then a success),
// and what a rejected one takes while it is open.
let okToken = try! RESPToken(validating: Bytes("+OK\r\n"))
let breakerReply = Result<ConnectionReply, GlideError>.success(ConnectionReply(token: okToken, queuedError: nil))
let closedBreaker = CircuitBreaker(CircuitBreakerConfiguration(), address: "10.0.0.1:7000")
measure("circuit breaker, closed: admission and a success") { _ in
    guard case .success(let ticket) = closedBreaker.admit(now: .now()) else { return 0 }
    closedBreaker.finished(ticket, breakerReply, now: .now())
    return 1
}
let openBreaker = CircuitBreaker(
    CircuitBreakerConfiguration(consecutiveFailures: 1, openDuration: .seconds(3600)), address: "10.0.0.1:7000")
if case .success(let ticket) = openBreaker.admit(now: .now()) {
    openBreaker.finished(ticket, .failure(GlideError(.timeout, "")), now: .now())
}
measure("circuit breaker, open: a rejection with its error") { _ in
    guard case .failure(let error) = openBreaker.admit(now: .now()) else { return 0 }
    return error.message.utf8.count
}
// Calibration: proves the counter counts (one array per call).
measure("calibration: one heap array per call") { index in
    var array = [Int]()
    array.reserveCapacity(4 + (index & 1))
    array.append(index)
    return array.count
}
