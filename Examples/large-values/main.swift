// Streams a large value up and down in 1 MiB chunks (`writeValue`, `readValue`), checks every
// byte, and prints how far the process's peak memory grew; then reads it with a plain GET for
// comparison. `make large-values-demo` runs it against a local server.
//
//     large-values HOST PORT [--cluster] [--mib N]
import Foundation
import Glide

/// The process's resident and peak resident memory, in MiB, from /proc/self/status.
func memory() -> (resident: Int, peak: Int) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
        let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
    return (field("VmRSS"), field("VmHWM"))
}

let chunkSize = 1 << 20

/// Chunk `index` of the value: its index in the first eight bytes, then a byte of it repeated, so
/// a misplaced chunk is told from the right one.
func chunk(_ index: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index % 251), count: chunkSize)
    withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    return bytes
}

/// The value's chunks, made as they are asked for.
struct Chunks: AsyncSequence {
    typealias Element = Bytes
    let count: Int
    func makeAsyncIterator() -> Iterator { Iterator(count: count) }
    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        var index = 0
        mutating func next() async -> Bytes? {
            guard index < count else { return nil }
            defer { index += 1 }
            return Bytes(chunk(index))
        }
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]) else {
    print("usage: large-values HOST PORT [--cluster] [--mib N]")
    exit(2)
}
let cluster = arguments.contains("--cluster")
let mib = arguments.firstIndex(of: "--mib").flatMap { Int(arguments[$0 + 1]) } ?? 256
let address = NodeAddress(host: arguments[1], port: port)
let key = "large-values:\(UInt32.random(in: 0...UInt32.max))"

/// Checks the chunks read back against the ones written; returns the bytes read.
func verify(_ chunks: ValueChunks) async throws -> Int {
    var index = 0
    var length = 0
    for try await received in chunks {
        let expected = chunk(index)
        let matches = received.withUnsafeReadableBytes { bytes in
            bytes.count == expected.count && expected.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
        }
        guard matches else { throw GlideError(.protocolError, "chunk \(index) is not the one written") }
        index += 1
        length += received.readableBytes
    }
    return length
}

/// The run, in a function of its own: what its frame holds is released before the process exits
/// (under LeakSanitizer, top-level code's temporaries would be reported, and the report's exit
/// loses the buffered output).
func run() async throws {
    if cluster {
        var configuration = GlideClusterClientConfiguration(addresses: [address])
        configuration.requestTimeout = .seconds(10)
        let client = try await GlideClusterClient.create(configuration)
        try await story(
            client, write: { try await client.writeValue(key, from: Chunks(count: mib)) },
            read: { try await client.readValue(of: key) { try await verify($0) } })
        await client.close()
    } else {
        var configuration = GlideClientConfiguration(addresses: [address])
        configuration.requestTimeout = .seconds(10)
        let client = try await GlideClient.create(configuration)
        try await story(
            client, write: { try await client.writeValue(key, from: Chunks(count: mib)) },
            read: { try await client.readValue(of: key) { try await verify($0) } })
        await client.close()
    }
}

/// The value streamed up (`write`) and down (`read`) through `client`, then read whole, with the
/// peak memory's growth after each.
func story(
    _ client: some GlideCommandExecutor, write: () async throws -> Int, read: () async throws -> Int
) async throws {
    let before = memory()
    let written = try await write()
    let readBack = try await read()
    print("streamed \(written >> 20) MiB up and \(readBack >> 20) MiB down: peak memory grew by \(memory().peak - before.peak) MiB")
    let plainLength = try await client.get(key, as: Bytes.self)?.readableBytes ?? 0
    _ = try await client.del([key])
    print("a plain GET of it (\(plainLength >> 20) MiB): peak memory grew by \(memory().peak - before.peak) MiB")
}

try await run()
