// glide-benchmark: a redis-benchmark work-alike on swift-glide's public API.
//
//   glide-benchmark [-h host] [-p port] [-c clients] [-n requests] [-P pipeline] [-t tests] [-d size]
//                   [-r keyspace] [--cluster] [--tls [--cacert file] [--insecure]] [--csv]
//                   [--cache [--cache-immediate]]
//                   [-t failover --kill-pid PID --victim-port PORT] [-t pubsub] [--client-count K] [--loops L]
//                   [--spread] [--replica-reads [--hedge]] [--coalesce] [--pace MS] [--rate R]
//                   [--memory [--slices K]]
//
// Every task shares one client, so `-c` is the number of concurrent callers multiplexed on one
// connection (one per node with `--cluster`, which connects a GlideClusterClient to the cluster
// `-h`/`-p` belongs to). `-r n` spreads requests over n keys, as redis-benchmark's does (a fixed
// scramble of the request number, the same every run).
// `--tls` connects over TLS, verified against `--cacert` (or the system store) unless `--insecure`.
// `-P n` sends the commands as batches of n commands each: pipelines (`Batch(isAtomic: false)`,
// `ClusterBatch` with `--cluster`), or transactions with `--atomic`. Tests: get, set,
// mixed (alternating SET and GET), incr, ping, and yield (no request: the harness's own cost per task). Reports requests per second, p50 and p99 latency
// per request (per batch with -P), and the process's CPU seconds per 100,000 commands.
// `-t failover` (with `--cluster`) runs mixed GET/SET for 12 s and SIGKILLs the primary listening
// on `--victim-port`, whose PID the caller started and passes, after 3 s (Failover.swift).
// `--cache` reads through a client-side cache (`ClientSideCache`, 64 MiB, hits confirmed by a
// shared PING); `--cache-immediate` answers hits from memory at once. Its report adds the share of
// the run's cached reads that hit (a last CSV column).
// `-t pubsub` publishes -n messages of -d bytes from -c tasks of one client to one channel that a
// second client subscribes to, and reports messages received per second (PubSub.swift).
// `--client-count K` spreads the -c tasks over K clients (standalone, or cluster with --cluster), and
// `--loops L` gives them an `EpollEventLoopGroup` of L loops, which hands one to each client in turn.
// `--spread` (with `--cluster` and `--loops L`) spreads each cluster client's node connections
// over all L loops (`eventLoopCount`).
// `-t handoff` measures the hops between a task and an event loop alone, with no client and no
// server (Handoff.swift).
// `-t idle` reports what one idle client adds to the process: memory, threads, descriptors (Idle.swift).
// `--memory` runs the test in K equal slices (`--slices K`, 10) and prints the resident memory after
// each. Every report ends with the process's peak resident memory and its threads' context
// switches per 100 requests.
// `--rate R` runs open loop: R requests per second, each due at its scheduled time whatever the
// replies do, run by the first of the -c tasks free, and timed from that time (no coordinated omission);
// with `--on-loop` too, the tasks run on the client's event loop.
// Every report has p99.9 and max besides p50 and p99.
// `--replica-reads` sends reads to replicas (`readFrom: .preferReplica`) and `--hedge` hedges them
// (`hedgedReads`, a 2 ms floor); `--coalesce` lets identical reads share a round trip
// (`coalescesReads`); `--pace MS` makes each task pause between its requests.
// `--compression zstd|lz4` compresses values (`CompressionConfiguration`) and reports the stored
// size; `--json` makes the -d byte values JSON-like text (records of words and numbers from a fixed
// seed) instead of one repeated letter, which would compress without limit.
import Foundation
import Glide
import Synchronization

struct Options {
    var host = "127.0.0.1"
    var port = 6379
    var clients = 50
    var requests = 100_000
    var pipeline = 1
    var atomic = false
    var tests = ["get", "set"]
    var dataSize = 3
    var csv = false
    var onLoop = false
    var memory = false
    /// `--memory` samples the resident memory after each of this many equal slices (`--slices K`).
    var slices = 10
    var resp2 = false
    var cache: ClientSideCache.Consistency?
    var cluster = false
    var keyspace = 0
    var tls = false
    var caCertificate: String?
    var insecure = false
    var killPID: Int32?
    var victimPort: Int?
    /// How many clients share the -c tasks (task i uses client i mod this), and how many event
    /// loops they are spread over (`nil`: the shared group, one loop per CPU).
    var clientCount = 1
    var loops: Int?
    /// Whether each cluster client spreads its node connections over every loop of the group.
    var spread = false
    /// Reads go to replicas (`readFrom: .preferReplica`); `--hedge` hedges them (`hedgedReads`).
    var replicaReads = false
    var hedge = false
    /// Identical reads share a round trip (`coalescesReads`, standalone).
    var coalesce = false
    /// Each task pauses this long between requests (`--pace MS`), so a stall is a share of the
    /// requests rather than holding every caller up.
    var pace: Duration?
    /// Open loop (`--rate R`): requests start at R per second, each at its scheduled time whatever
    /// the replies do, and a latency counts from that time, so a stall is not hidden by the
    /// callers waiting it out (coordinated omission).
    var rate: Double?
    /// Whether `-t dedicated` keeps no idle connection (`idleTimeout: .zero`): with one caller, a
    /// connection per call, as before pooling.
    var unpooled = false
    /// Values compressed with this algorithm, if any.
    var compression: CompressionConfiguration.Algorithm?
    /// Whether values are JSON-like text rather than one repeated letter.
    var json = false
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ flag: String) -> String {
        guard let value = arguments.next() else {
            FileHandle.standardError.write("missing value for \(flag)\n".data(using: .utf8)!)
            exit(2)
        }
        return value
    }
    func number(_ flag: String) -> Int {
        let text = value(flag)
        guard let number = Int(text), number > 0 else {
            FileHandle.standardError.write("\(flag) needs a positive number, not \(text)\n".data(using: .utf8)!)
            exit(2)
        }
        return number
    }
    while let flag = arguments.next() {
        switch flag {
        case "-h": options.host = value(flag)
        case "-p": options.port = number(flag)
        case "-c": options.clients = number(flag)
        case "-n": options.requests = number(flag)
        case "-P": options.pipeline = number(flag)
        case "--atomic": options.atomic = true
        case "-t": options.tests = value(flag).lowercased().split(separator: ",").map(String.init)
        case "-d": options.dataSize = number(flag)
        case "--csv": options.csv = true
        case "--on-loop": options.onLoop = true
        case "--memory": options.memory = true
        case "--slices": options.slices = max(1, number(flag))
        case "--resp2": options.resp2 = true
        case "--cache": options.cache = options.cache ?? .confirmed
        case "--cache-immediate": options.cache = .immediate
        case "--cluster": options.cluster = true
        case "-r": options.keyspace = number(flag)
        case "--tls": options.tls = true
        case "--cacert": options.caCertificate = value(flag)
        case "--insecure": options.insecure = true
        case "--kill-pid": options.killPID = Int32(number(flag))
        case "--victim-port": options.victimPort = number(flag)
        case "--client-count": options.clientCount = number(flag)
        case "--loops": options.loops = number(flag)
        case "--spread": options.spread = true
        case "--replica-reads": options.replicaReads = true
        case "--hedge": options.hedge = true
        case "--coalesce": options.coalesce = true
        case "--pace": options.pace = .milliseconds(number(flag))
        case "--rate": options.rate = Double(number(flag))
        case "--unpooled": options.unpooled = true
        case "--compression":
            let name = value(flag)
            guard let algorithm = ["zstd": CompressionConfiguration.Algorithm.zstd, "lz4": .lz4][name] else {
                FileHandle.standardError.write("--compression takes zstd or lz4, not \(name)\n".data(using: .utf8)!)
                exit(2)
            }
            options.compression = algorithm
        case "--json": options.json = true
        default:
            print(
                "usage: glide-benchmark [-h host] [-p port] [-c clients] [-n requests] [-P pipeline [--atomic]] [-t get,set,mixed,mget,incr,ping,yield,handoff,pubsub] [-d size] [-r keyspace] [--cluster] [--tls [--cacert file] [--insecure]] [--csv] [--on-loop] [--resp2] [--cache [--cache-immediate]] [--memory [--slices K]] [--kill-pid PID --victim-port PORT] [--client-count K] [--loops L] [--spread] [--compression zstd|lz4] [--json] [--replica-reads [--hedge]] [--coalesce] [--pace MS] [--rate R]"
            )
            exit(flag == "--help" ? 0 : 2)
        }
    }
    return options
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// One test's run: every task's latencies, and the wall and CPU time of the whole run.
struct Measurement {
    var latencies: [UInt64]
    var seconds: Double
    var cpu: Double
    var commands: Int
    /// Context switches of the process's threads per 100 requests, set after the run.
    var switchesPer100 = 0.0
    /// With `--cache`: the share of the run's cached reads that were hits, in percent.
    var cacheHitPercent: Double?
}

/// Runs `operation` `count` times spread over `tasks` concurrent tasks; `operation` gets the
/// request number and performs one request (one command, or one transaction of commands).
func measure(
    tasks: Int, count: Int, commandsPerRequest: Int,
    _ operation: @escaping @Sendable (Int) async throws -> Void
) async throws -> Measurement {
    let cpuStart = cpuSeconds()
    let start = nanoseconds()
    let perTask = (count + tasks - 1) / tasks
    let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
        for task in 0..<tasks {
            let first = task * perTask
            let last = min(count, first + perTask)
            guard first < last else { continue }
            group.addTask {
                var samples: [UInt64] = []
                samples.reserveCapacity(last - first)
                for request in first..<last {
                    let before = nanoseconds()
                    try await operation(request)
                    samples.append(nanoseconds() - before)
                    if let pace = options.pace { try await Task.sleep(for: pace) }
                }
                return samples
            }
        }
        var all: [UInt64] = []
        all.reserveCapacity(count)
        for try await samples in group { all.append(contentsOf: samples) }
        return all
    }
    let seconds = Double(nanoseconds() - start) / 1e9
    // Read before the latencies are sorted: the sort is the report's, not the run's.
    let cpu = cpuSeconds() - cpuStart
    return Measurement(latencies: latencies.sorted(), seconds: seconds, cpu: cpu, commands: count * commandsPerRequest)
}

/// `--rate R`: request i is due `i / rate` seconds into the run, whatever the replies do, and its
/// latency counts from then. `tasks` workers take the slots in turn; one waiting for its slot is
/// released by a pacer thread that wakes every 20 µs, so the schedule costs a resumption per
/// request rather than a timer. A request that starts after its slot (every worker busy, or the
/// pacer late) counts that lateness as latency.
func measureOpenLoop(rate: Double, tasks: Int, count: Int, _ operation: @escaping @Sendable (Int) async throws -> Void)
    async throws -> Measurement
{
    let cpuStart = cpuSeconds()
    let start = nanoseconds()
    let pacer = Pacer()
    let slots = SlotCounter()
    let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
        for _ in 0..<tasks {
            group.addTask {
                var samples: [UInt64] = []
                while true {
                    let request = slots.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard request < count else { break }
                    let scheduled = start + UInt64(Double(request) / rate * 1e9)
                    if nanoseconds() < scheduled { await pacer.wait(until: scheduled) }
                    try await operation(request)
                    samples.append(nanoseconds() - scheduled)
                }
                return samples
            }
        }
        var all: [UInt64] = []
        all.reserveCapacity(count)
        for try await samples in group { all.append(contentsOf: samples) }
        return all
    }
    pacer.stop()
    let seconds = Double(nanoseconds() - start) / 1e9
    let cpu = cpuSeconds() - cpuStart
    return Measurement(latencies: latencies.sorted(), seconds: seconds, cpu: cpu, commands: count)
}

/// The next slot of the schedule, shared by the workers.
final class SlotCounter: Sendable {
    let next = Atomic<Int>(0)
}

/// Releases waiting workers when their time comes, from a thread of its own.
final class Pacer: @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    private var waiting: [(at: UInt64, continuation: UnsafeContinuation<Void, Never>)] = []
    private var stopped = false
    private var thread: Thread?

    init() {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "bench-pacer"
        self.thread = thread
        thread.start()
    }

    /// Returns at `at` on the monotonic clock (or a little after).
    func wait(until at: UInt64) async {
        await withUnsafeContinuation { continuation in
            lock.lock()
            waiting.append((at, continuation))
            lock.unlock()
        }
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    private func run() {
        while true {
            usleep(20)
            let now = nanoseconds()
            lock.lock()
            if stopped && waiting.isEmpty {
                lock.unlock()
                return
            }
            var due: [UnsafeContinuation<Void, Never>] = []
            waiting.removeAll { entry in
                guard entry.at <= now else { return false }
                due.append(entry.continuation)
                return true
            }
            lock.unlock()
            for continuation in due { continuation.resume() }
        }
    }
}

let options = parseOptions()
let value = options.json ? jsonLike(options.dataSize) : Bytes([UInt8](repeating: UInt8(ascii: "x"), count: options.dataSize))

/// `size` bytes of JSON-like records, the same each run: words and numbers drawn from a fixed
/// seed, so they compress as documents do rather than without limit.
func jsonLike(_ size: Int) -> Bytes {
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "active", "pending", "admin", "ops", "eu-west", "us-east", "paid"]
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(truncatingIfNeeded: state >> 33)
    }
    var text = "["
    while text.utf8.count < size {
        text += #"{"id":\#(next() % 1_000_000),"name":"\#(words[next() % words.count])-\#(next() % 1000)","#
        text += #""tags":["\#(words[next() % words.count])","\#(words[next() % words.count])"],"score":\#(next() % 10_000)},"#
    }
    return Bytes(text.utf8.prefix(size))
}
// With -r, requests cycle through that many keys (spread over every slot of a cluster).
let keys: [Bytes] =
    options.keyspace > 0
    ? (0..<min(options.keyspace, 100_000)).map { Bytes("key:\(String(format: "%012d", $0))") }
    : [Bytes("key:__rand_int__")]
let counter = "counter:__rand_int__"

/// The key request `request` uses: spread over the keyspace as redis-benchmark's `-r` spreads
/// them, the same every run. Not `request % count`: the tasks take runs of consecutive request
/// numbers, so with a keyspace no larger than a task's run they would all read one key at once,
/// in lockstep (a cached read would then always find its key still being fetched).
@inline(__always)
func keyIndex(_ request: Int, _ count: Int) -> Int {
    Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: request) &* 0x9E37_79B9_7F4A_7C15) >> 33) % count
}

/// A test's name and what one request does. A struct, not a tuple in an `Optional` or an array:
/// a closure stored in a generic container is kept at its most general representation, and each
/// call then goes through a reabstraction thunk, an extra async frame that costs the task one more
/// executor switch per request (counted with gdb), which an application calling the client
/// directly does not pay.
struct Workload: Sendable {
    let name: String
    let body: @Sendable (Int) async throws -> Void
}

/// `test` over several clients: request r goes to client (r / 2) mod count, so each client sees
/// both halves of a mixed run.
func spread<Client: GlideCommandExecutor>(_ test: String, over clients: [Client]) -> Workload? {
    guard clients.count > 1 else { return operation(test, on: clients[0]) }
    let operations = clients.compactMap { operation(test, on: $0) }
    guard operations.count == clients.count else { return nil }
    return Workload(name: operations[0].name) { request in try await operations[(request >> 1) % operations.count].body(request) }
}

/// The operation for `test`, specialised for the client type.
func operation<Client: GlideCommandExecutor>(_ test: String, on client: Client) -> Workload? {
    let count = keys.count
    switch test {
    case "get": return Workload(name: "GET") { request in _ = try await client.get(keys[keyIndex(request, count)], as: Bytes.self) }
    case "set": return Workload(name: "SET") { request in try await client.set(keys[keyIndex(request, count)], value) }
    case "mixed":
        return Workload(name: "MIXED GET/SET") { request in
            let key = keys[keyIndex(request >> 1, count)]
            if request & 1 == 0 { try await client.set(key, value) } else { _ = try await client.get(key, as: Bytes.self) }
        }
    case "mget":
        // 100 consecutive keys of the keyspace: on a cluster, a split across many slots.
        return Workload(name: "MGET (100 keys)") { request in
            let first = (request &* 100) % count
            _ = try await client.mget((0..<100).map { keys[(first + $0) % count] }, as: Bytes.self)
        }
    case "incr": return Workload(name: "INCR") { _ in try await client.incr(counter) }
    case "ping": return Workload(name: "PING") { _ in _ = try await client.ping() }
    // No request: the harness's own cost per task, to subtract from a run with requests.
    case "yield": return Workload(name: "YIELD") { _ in await Task.yield() }
    default: return nil
    }
}

/// One `withDedicatedConnection` per request, running a GET on the connection it lends: from the
/// pool, or (`pooled: false`) on a connection opened for the call and closed after.
func dedicatedOperation(on client: GlideClient, pooled: Bool) -> Workload {
    let count = keys.count
    return Workload(name: "withDedicatedConnection + GET" + (pooled ? "" : ", unpooled")) { request in
        try await client.withDedicatedConnection { _ = try await $0.get(keys[keyIndex(request, count)], as: Bytes.self) }
    }
}

/// The operation for `test` sent as batches of `size` commands, built per request as an
/// application would (encoding is part of the measured cost): `Batch`es on a server,
/// `ClusterBatch`es (split by node) on a cluster. Keys cycle through `-r`'s keyspace.
func batchOperation(_ test: String, size: Int, atomic: Bool, standalone: GlideClient?, cluster: GlideClusterClient?)
    -> Workload?
{
    guard ["get", "set", "mixed", "incr", "ping"].contains(test) else { return nil }
    let count = keys.count
    @Sendable func fill<Kind>(_ batch: inout CommandBatch<Kind>, request: Int) {
        for index in 0..<size {
            let key = keys[(request &* size &+ index) % count]
            switch test {
            case "get": batch.add(GET(key))
            case "set": batch.add(SET(key, value))
            case "mixed": if index & 1 == 0 { batch.add(SET(key, value)) } else { batch.add(GET(key)) }
            case "incr": batch.add(INCR(counter))
            default: batch.add(PING())
            }
        }
    }
    let name = "\(test.uppercased()) (\(atomic ? "transactions" : "batches") of \(size))"
    if let cluster {
        return Workload(name: name) { request in
            var batch = ClusterBatch(isAtomic: atomic)
            fill(&batch, request: request)
            _ = try await cluster.exec(batch)
        }
    }
    guard let standalone else { return nil }
    return Workload(name: name) { request in
        var batch = Batch(isAtomic: atomic)
        fill(&batch, request: request)
        _ = try await standalone.exec(batch)
    }
}

let address = NodeAddress(host: options.host, port: options.port)
// As redis-benchmark: --tls verifies against --cacert (else the system store) unless --insecure.
let tls: TLSConfiguration? =
    !options.tls
    ? nil
    : options.insecure
        ? .insecure
        : TLSConfiguration(trustRoots: options.caCertificate.map { .file($0) })
if options.tests == ["handoff"] {
    await runHandoff(tasks: options.clients, count: options.requests, onLoop: options.onLoop, csv: options.csv)
    exit(0)
}
if options.tests == ["idle"] {
    try await runIdle(address: address, cluster: options.cluster, csv: options.csv)
    exit(0)
}
var standalone: GlideClient?
var cluster: GlideClusterClient?

/// The client's cache counts so far, with `--cache`.
@MainActor func cacheMetrics() -> ClientSideCacheMetrics? { standalone?.clientSideCacheMetrics ?? cluster?.clientSideCacheMetrics }
// The clients beyond the first (--client-count), on the same group of loops.
var extraClients: [GlideClient] = []
var extraClusterClients: [GlideClusterClient] = []
let loopGroup = options.loops.map { EpollEventLoopGroup(loopCount: $0, name: "bench-loop") } ?? .shared
/// The options both clients' configurations have, as the benchmark's flags set them.
protocol BenchmarkedConfiguration {
    var useTLS: Bool { get set }
    var tlsConfiguration: TLSConfiguration? { get set }
    var requestTimeout: Duration { get set }
    var clientName: String? { get set }
    var protocolVersion: ProtocolVersion { get set }
    var inflightRequestsLimit: Int { get set }
    var clientSideCache: ClientSideCache? { get set }
    var compression: CompressionConfiguration? { get set }
    var eventLoopGroup: EpollEventLoopGroup { get set }
    var readFrom: ReadFrom { get set }
    var hedgedReads: HedgedReads? { get set }
}

extension GlideClientConfiguration: BenchmarkedConfiguration {}
extension GlideClusterClientConfiguration: BenchmarkedConfiguration {}

func configure(_ configuration: inout some BenchmarkedConfiguration) {
    configuration.useTLS = options.tls
    configuration.tlsConfiguration = tls
    configuration.requestTimeout = .seconds(10)
    configuration.clientName = "glide-benchmark"
    configuration.protocolVersion = options.resp2 ? .resp2 : .resp3
    configuration.inflightRequestsLimit = max(1000, options.clients * 2)
    configuration.clientSideCache = options.cache.map { ClientSideCache(maximumBytes: 64 << 20, consistency: $0) }
    configuration.compression = options.compression.map { CompressionConfiguration(algorithm: $0) }
    configuration.eventLoopGroup = loopGroup
    if options.replicaReads { configuration.readFrom = .preferReplica }
    if options.hedge { configuration.hedgedReads = HedgedReads(minimumDelay: .milliseconds(2)) }
}

do {
    if options.cluster {
        var configuration = GlideClusterClientConfiguration(addresses: [address])
        configure(&configuration)
        if options.spread { configuration.eventLoopCount = loopGroup.loops.count }
        cluster = try await GlideClusterClient.create(configuration)
        for _ in 1..<options.clientCount { extraClusterClients.append(try await GlideClusterClient.create(configuration)) }
    } else {
        var configuration = GlideClientConfiguration(addresses: [address])
        configure(&configuration)
        configuration.dedicatedConnections.maximumConnections = options.clients
        if options.unpooled { configuration.dedicatedConnections.idleTimeout = .zero }
        configuration.coalescesReads = options.coalesce
        standalone = try await GlideClient.create(configuration)
        for _ in 1..<options.clientCount { extraClients.append(try await GlideClient.create(configuration)) }
    }
} catch {
    print("cannot connect to \(options.host):\(options.port): \(error)")
    exit(1)
}

// GET must find a value of the requested size, as redis-benchmark's does after its SET test.
for start in stride(from: 0, to: keys.count, by: 500) {
    let seed = MSET(data: keys[start..<min(keys.count, start + 500)].map { MSET.Data(key: $0, value: value) })
    if let cluster { try await cluster.execute(seed) } else { try await standalone!.execute(seed) }
}
if let algorithm = options.compression {
    // What a value takes on the server: STRLEN counts the bytes as stored.
    let stored =
        if let cluster { try await cluster.strlen(keys[0]) } else { try await standalone!.strlen(keys[0]) }
    let ratio = Double(value.count) / Double(max(stored, 1))
    print("\(algorithm) stored \(stored) bytes for \(value.count) (ratio \(String(format: "%.2f", ratio)))")
}

for test in options.tests {
    if test == "pubsub" {
        guard let standalone else {
            print("-t pubsub runs against one server, not --cluster")
            exit(2)
        }
        try await runPubSub(
            publisher: standalone, address: address, value: value, count: options.requests,
            tasks: options.clients, csv: options.csv)
        continue
    }
    if test == "failover" {
        guard let cluster, let pid = options.killPID, let port = options.victimPort else {
            print("-t failover needs --cluster, --kill-pid and --victim-port")
            exit(2)
        }
        try await runFailover(
            cluster, keys: keys, value: value, tasks: options.clients,
            failover: FailoverOptions(pid: pid, port: port))
        continue
    }
    let batch = options.pipeline
    let requests = max(1, options.requests / batch)
    let chosen =
        test == "dedicated"
        ? standalone.map { dedicatedOperation(on: $0, pooled: !options.unpooled) }
        : batch > 1
            ? batchOperation(test, size: batch, atomic: options.atomic, standalone: standalone, cluster: cluster)
            : cluster.map { spread(test, over: [$0] + extraClusterClients) } ?? spread(test, over: [standalone!] + extraClients)
    guard let name = chosen?.name, let operation = chosen?.body else {
        print("unknown test \(test): use get, set, mixed, incr or ping")
        exit(2)
    }
    if options.memory {
        // Equal slices of the run, with the resident memory after each: it must stay flat. No
        // latencies are recorded here, so the samples measure the client, not this program.
        var samples: [String] = []
        let slice = requests / options.slices
        let tasks = min(options.clients, slice)
        for _ in 0..<options.slices {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var request = task
                        while request < slice {
                            try await operation(request)
                            request += tasks
                        }
                    }
                }
                try await group.waitForAll()
            }
            samples.append(String(format: "%.1f", residentMebibytes()))
        }
        print("\"\(name) RSS MiB per slice\",\"\(samples.joined(separator: " "))\"")
        continue
    }
    do {
        let tasks = min(options.clients, requests)
        let switchesBefore = contextSwitches()
        let cacheBefore = cacheMetrics()
        // Open loop at `--rate`, or closed loop; on the client's loop with `--on-loop`.
        let run: @Sendable () async throws -> Measurement = {
            if let rate = options.rate { return try await measureOpenLoop(rate: rate, tasks: tasks, count: requests, operation) }
            return try await measure(tasks: tasks, count: requests, commandsPerRequest: batch, operation)
        }
        var measurement: Measurement
        if options.onLoop, let standalone {
            measurement = try await withTaskExecutorPreference(standalone.taskExecutor) { try await run() }
        } else if options.onLoop, let cluster {
            measurement = try await withTaskExecutorPreference(cluster.taskExecutor) { try await run() }
        } else {
            measurement = try await run()
        }
        measurement.switchesPer100 = Double(contextSwitches() - switchesBefore) / Double(requests) * 100
        if let before = cacheBefore, let after = cacheMetrics() {
            let hits = after.hits - before.hits
            let reads = hits + after.misses - before.misses
            measurement.cacheHitPercent = reads > 0 ? Double(hits) / Double(reads) * 100 : 0
        }
        report(name, measurement, options: options)
    } catch {
        print("\(name) failed: \(error)")
        exit(1)
    }
}
await standalone?.close()
for client in extraClients { await client.close() }
for client in extraClusterClients { await client.close() }
await cluster?.close()
