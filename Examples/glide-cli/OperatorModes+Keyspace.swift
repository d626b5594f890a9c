import Foundation
import Glide

/// One key type's tally in `--bigkeys`.
private final class TypeTally {
    let name: String
    let sizeCommand: String?
    let unit: String
    var count: UInt64 = 0
    var totalSize: UInt64 = 0
    var biggest: UInt64 = 0
    var biggestKey: String?

    init(_ name: String, _ sizeCommand: String?, _ unit: String) {
        self.name = name
        self.sizeCommand = sizeCommand
        self.unit = unit
    }
}

extension OperatorMode {
    /// The known types, in the order valkey-cli's summary lists them once keys were sampled (the
    /// order of its hash table of types), and the order it lists them for an empty keyspace.
    private static let knownTypes: [(name: String, command: String, unit: String)] = [
        ("list", "LLEN", "items"), ("hash", "HLEN", "fields"), ("string", "STRLEN", "bytes"),
        ("stream", "XLEN", "entries"), ("set", "SCARD", "members"), ("zset", "ZCARD", "members"),
    ]
    private static let emptyKeyspaceOrder = ["hash", "list", "string", "stream", "set", "zset"]

    /// `--bigkeys`: each SCAN page's keys are typed and sized; a key bigger than its type's
    /// biggest so far is printed with the share of the keyspace sampled before its page.
    static func bigkeys(_ connection: OperatorConnection, options: Options) async throws(GlideError) {
        let totalKeys = try await keyCount(connection)
        emit(
            "\n# Scanning the entire keyspace to find biggest keys as well as\n"
                + "# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"
                + "# per 100 SCAN commands (not usually needed).\n\n")
        var tallies = knownTypes.map { TypeTally($0.name, $0.command, $0.unit) }
        var sampled: UInt64 = 0
        var keyBytes: UInt64 = 0
        let pages = connection.keyPages(options.pattern, options.count)
        var scans = 0
        while let keys = try await pages.next() {
            let share = 100 * Double(sampled) / Double(totalKeys)
            let types = try await eachConcurrently(keys) { key throws(GlideError) in
                try await connection.sendBytes([Bytes("TYPE"), key]).stringValue ?? "none"
            }
            var kinds: [TypeTally?] = []
            for type in types {
                guard type != "none" else {
                    kinds.append(nil)
                    continue
                }
                if let known = tallies.first(where: { $0.name == type }) {
                    kinds.append(known)
                } else {
                    let other = TypeTally(type, nil, "?")
                    tallies.append(other)
                    kinds.append(other)
                }
            }
            let sizes = try await eachConcurrently(Array(zip(keys, kinds.map { $0?.sizeCommand }))) {
                key, command throws(GlideError) -> UInt64 in
                guard let command else { return 0 }
                let reply = try await connection.sendBytes([Bytes(command), key])
                guard case .integer(let size) = reply else {
                    FileHandle.standardError.write(Data("Warning:  \(command) on '\(key.string)' failed (may have changed type)\n".utf8))
                    return 0
                }
                return UInt64(max(size, 0))
            }
            for (index, key) in keys.enumerated() {
                guard let kind = kinds[index] else { continue }
                kind.totalSize += sizes[index]
                kind.count += 1
                keyBytes += UInt64(key.count)
                sampled += 1
                if kind.biggest < sizes[index] {
                    kind.biggestKey = key.quoted
                    kind.biggest = sizes[index]
                    emit(
                        String(format: "[%05.2f%%] Biggest ", share) + padded(kind.name, 6)
                            + " found so far '\(key.quoted)' with \(sizes[index]) \(kind.unit)\n")
                }
                if sampled % 1_000_000 == 0 { emit(String(format: "[%05.2f%%] Sampled %llu keys so far\n", share, sampled)) }
            }
            scans += 1
            if options.interval > 0 && scans % 100 == 0 { await pause(seconds: options.interval) }
        }
        var summary = "\n-------- summary -------\n\n"
        summary += "Sampled \(sampled) keys in the keyspace!\n"
        summary += String(
            format: "Total key length in bytes is %llu (avg len %.2f)\n\n", keyBytes, keyBytes > 0 ? Double(keyBytes) / Double(sampled) : 0)
        if sampled == 0 {
            tallies.sort { emptyKeyspaceOrder.firstIndex(of: $0.name) ?? 6 < emptyKeyspaceOrder.firstIndex(of: $1.name) ?? 6 }
        }
        for tally in tallies {
            guard let key = tally.biggestKey else { continue }
            summary += "Biggest \(padded(tally.name, 6, right: true)) found '\(key)' has \(tally.biggest) \(tally.unit)\n"
        }
        summary += "\n"
        for tally in tallies {
            let share = sampled > 0 ? 100 * Double(tally.count) / Double(sampled) : 0
            let average = tally.count > 0 ? Double(tally.totalSize) / Double(tally.count) : 0
            summary += "\(tally.count) \(tally.name)s with \(tally.totalSize) \(tally.unit) "
            summary += String(format: "(%05.2f%% of keys, avg size %.2f)\n", share, average)
        }
        emit(summary)
    }

    /// `DBSIZE`: of the server, or summed over a cluster's primaries.
    private static func keyCount(_ connection: OperatorConnection) async throws(GlideError) -> Int {
        try await connection.send(["DBSIZE"]).reduce(0) { $0 + ($1.value.intValue ?? 0) }
    }

    /// `body` of each element, at most 100 at once (well inside the client's in-flight limit,
    /// whatever `--count` asks), in the elements' order.
    private static func eachConcurrently<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async throws(GlideError) -> Result
    ) async throws(GlideError) -> [Result] {
        var results: [Result] = []
        results.reserveCapacity(elements.count)
        for start in stride(from: 0, to: elements.count, by: 100) {
            let part = Array(elements[start..<min(start + 100, elements.count)])
            let outcomes = await withTaskGroup(of: (Int, Swift.Result<Result, GlideError>).self) { group in
                for (index, element) in part.enumerated() {
                    group.addTask {
                        do throws(GlideError) { return (index, .success(try await body(element))) } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var outcomes = [Swift.Result<Result, GlideError>?](repeating: nil, count: part.count)
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes
            }
            for outcome in outcomes { results.append(try outcome!.get()) }
        }
        return results
    }

    // MARK: Stat

    /// `--stat`: a line of figures from `INFO` every interval (1 s), the header every 20 lines.
    /// A cluster's nodes are summed.
    static func stat(_ connection: OperatorConnection, options: Options) async throws(GlideError) {
        let databases = try await databaseCount(connection)
        var previousRequests = 0
        var lines = 0
        while true {
            let infos = try await connection.send(["INFO"]).map { $0.value.stringValue ?? "" }
            func sum(_ field: String) -> Int { infos.reduce(0) { $0 + (infoField($1, field) ?? 0) } }
            if lines % 20 == 0 {
                emit(
                    "------- data ------ --------------------- load -------------------- - child -\n"
                        + "keys       mem      clients blocked requests            connections          \n")
            }
            lines += 1
            let keys = (0..<databases).reduce(0) { $0 + sum("db\($1):keys") }
            let requests = sum("total_commands_processed")
            var line = padded("\(keys)", 11) + padded(humanBytes(sum("used_memory")), 8)
            line += " " + padded("\(sum("connected_clients"))", 8) + padded("\(sum("blocked_clients"))", 8)
            line += padded("\(requests) (+\(previousRequests == 0 ? 0 : requests - previousRequests))", 19)
            line += " " + padded("\(sum("total_connections_received"))", 12)
            previousRequests = requests
            let children = infos.reduce(0) {
                $0 | (infoField($1, "bgsave_in_progress") ?? 0) | (infoField($1, "aof_rewrite_in_progress") ?? 0) << 1
                    | (infoField($1, "loading") ?? 0) << 2
            }
            line += [1: "SAVE", 2: "AOF", 3: "SAVE+AOF", 4: "LOAD"][children] ?? ""
            emit(line + "\n")
            await pause(seconds: options.interval > 0 ? options.interval : 1)
        }
    }

    /// `CONFIG GET databases`, or 16 when the server won't say.
    private static func databaseCount(_ connection: OperatorConnection) async throws(GlideError) -> Int {
        guard let reply = try? await connection.send(["CONFIG", "GET", "databases"]).first?.value else { return 16 }
        let values: [RESPValue]
        switch reply {
        case .array(let elements): values = elements
        case .map(let pairs): values = pairs.flatMap { [$0.key, $0.value] }
        default: values = []
        }
        return values.count >= 2 ? Int(values[1].stringValue ?? "") ?? 16 : 16
    }

    /// The number after `field` and one separator in `INFO`'s text, up to a `,` or the line's end,
    /// as valkey-cli reads it.
    private static func infoField(_ info: String, _ field: String) -> Int? {
        guard let range = info.range(of: field) else { return nil }
        // By bytes: "\r\n" is one Character, which a test for "\r" would never match.
        let rest = info.utf8[range.upperBound...].dropFirst()
        return Int(
            String(decoding: rest.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: ",") }, as: UTF8.self)
        )
    }

    /// valkey-cli's sizes: `512B`, `1.50K`, `12.00M`, `3.25G`, and on to `T` and `P`.
    private static func humanBytes(_ bytes: Int) -> String {
        let sign = bytes < 0 ? "-" : ""
        let magnitude = bytes.magnitude
        guard magnitude >= 1024 else { return "\(sign)\(magnitude)B" }
        var size = Double(magnitude)
        for unit in ["K", "M", "G", "T"] {
            size /= 1024
            if size < 1024 { return sign + String(format: "%.2f", size) + unit }
        }
        return sign + String(format: "%.2fP", size / 1024)
    }

    /// `text` in `width` columns: left-aligned (`%-Ns`), or right-aligned (`%Ns`).
    private static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let room = String(repeating: " ", count: max(width - text.count, 0))
        return right ? room + text : text + room
    }
}
