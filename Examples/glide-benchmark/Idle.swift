import Foundation
import Glide

/// What this process holds now: resident memory in KiB, threads, and open descriptors.
func processFootprint() -> (residentKiB: Int, threads: Int, descriptors: Int) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let resident =
        status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    return (resident, threads, descriptors)
}

/// `-t idle`: what one idle client costs, standalone or (`--cluster`) cluster: the process's
/// resident memory, threads and descriptors before `create` and after the client has sat connected
/// for 2 s (heartbeats and topology checks included). The event loop threads the client's group
/// starts are counted, as the client is what starts them.
func runIdle(address: NodeAddress, cluster: Bool, csv: Bool) async throws {
    let before = processFootprint()
    let close: () async -> Void
    if cluster {
        let client = try await GlideClusterClient.create(GlideClusterClientConfiguration(addresses: [address]))
        _ = try await client.ping()
        close = { await client.close() }
    } else {
        let client = try await GlideClient.create(GlideClientConfiguration(addresses: [address]))
        _ = try await client.ping()
        close = { await client.close() }
    }
    try await Task.sleep(for: .seconds(2))
    let after = processFootprint()
    await close()
    let memory = Double(after.residentKiB - before.residentKiB) / 1024
    let threads = after.threads - before.threads
    let descriptors = after.descriptors - before.descriptors
    if csv {
        print("\"IDLE\",\"\(String(format: "%.2f", memory))\",\"\(threads)\",\"\(descriptors)\"")
    } else {
        let kind = cluster ? "cluster" : "standalone"
        print("idle \(kind) client: +\(String(format: "%.2f", memory)) MiB resident, +\(threads) threads, +\(descriptors) descriptors")
    }
}
