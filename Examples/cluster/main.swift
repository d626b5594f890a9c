// cluster: what GlideClusterClient does, against a running cluster.
//
//   swift run cluster [host:port]     (a seed node; default 127.0.0.1:7000)
//
// It prints the topology it discovered, writes keys across the shards, reads them back with one
// MGET split by slot, sums DBSIZE over the primaries, shows INFO per node, and runs a
// transaction whose keys share a slot through a hash tag.
import Foundation
import Glide

let seedText = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:7000"
guard let seed = NodeAddress(parsing: seedText), !seed.host.isEmpty else {
    print("usage: cluster [host:port]")
    exit(2)
}

do {
    var configuration = GlideClusterClientConfiguration(addresses: [seed])
    configuration.clientName = "cluster-example"
    let cluster = try await GlideClusterClient.create(configuration)
    if let topology = cluster.topology {
        print("topology (slots, primary, replicas):\n\(topology)\n")
    }

    let keys = (1...6).map { "example:key:\($0)" }
    for key in keys { try await cluster.set(key, "value of \(key)") }
    for key in keys { print("\(key) is in slot \(HashSlot.of(key))") }

    let values = try await cluster.execute(MGET(keys))  // split by slot, answered in key order
    print("\nMGET: \(values.map { $0?.string ?? "nil" })")
    print("DBSIZE over all primaries: \(try await cluster.execute(DBSIZE()))")

    let info = try await cluster.info([.server])  // one report per primary
    for (node, report) in info.perNodeValues ?? [:] {
        let lines = report.split(separator: "\r\n")
        let version = lines.first { $0.hasPrefix("valkey_version:") } ?? lines.first { $0.hasPrefix("redis_version:") }
        print("\(node): \(version ?? "?")")
    }

    let results = try await cluster.exec(
        ClusterTransaction()
            .set("{example:user}:name", "Ada")
            .incr("{example:user}:visits")
            .get("{example:user}:name"))
    print("\ntransaction on slot \(HashSlot.of("example:user")): \(results?.map(\.description) ?? [])")

    _ = try await cluster.execute(DEL(keys + ["{example:user}:name", "{example:user}:visits"]))
    await cluster.close()
} catch {
    print("cluster example failed: \(error)")
    exit(1)
}
