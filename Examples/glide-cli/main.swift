// glide-cli: a valkey-cli work-alike on swift-glide's clients.
//
//   glide-cli [-h host] [-p port] [-u url] [-a password] [--user name] [-n db] [-c]
//             [--tls [--cacert file] [--cert file --key file] [--insecure]] [-2|-3]
//             [--raw|--no-raw|--csv] [-r count] [-i seconds] [command [arg ...]]
//   glide-cli [connection options] --latency | --latency-history | --stat
//             | --scan [--pattern p | --quoted-pattern p] [--count n] | --bigkeys [-i seconds]
//
// With a command, runs it (`-r` times, `-i` seconds apart) and prints the reply as valkey-cli
// does: `"value"`, `(integer) 1`, `1) …`, `(nil)`, `(error) …` on a terminal, the raw bytes
// otherwise (`--raw`/`--no-raw` choose). Without one, runs the commands on standard input, one
// per line, quoted as valkey-cli quotes them. `-c` connects a GlideClusterClient, which routes
// each command and prints the node that answered each part of a multi-node reply.
// RESP2 unless `-3`, as valkey-cli. On a terminal without a command, an interactive prompt with
// line editing, history in ~/.glide_cli_history and syntax hints (LineEditor.swift). The operator
// modes print as valkey-cli's do (OperatorModes.swift); with `-c` they cover every primary.
import Foundation
import Glide

struct Options {
    var host = "127.0.0.1"
    var port = 6379
    var url: String?
    var password: String?
    var user: String?
    var database = 0
    var cluster = false
    var tls = false
    var caCertificate: String?
    var certificate: String?
    var key: String?
    var insecure = false
    var resp3 = false
    var mode: OutputMode = isatty(STDOUT_FILENO) == 1 ? .human : .raw
    var repetitions = 1
    var interval = 0.0
    var command: [String] = []
    var operatorMode: OperatorMode?
    var pattern: String?
    var count = 10
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) -> String {
        guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
        return next
    }
    func number(_ flag: String) -> Int {
        let text = value(flag)
        guard let number = Int(text) else { fail("\(flag) needs a number, not \(text)") }
        return number
    }
    while let flag = rest.first, flag.hasPrefix("-"), options.command.isEmpty {
        rest.removeFirst()
        switch flag {
        case "-h": options.host = value(flag)
        case "-p": options.port = number(flag)
        case "-u": options.url = value(flag)
        case "-a", "--pass": options.password = value(flag)
        case "--user": options.user = value(flag)
        case "-n": options.database = number(flag)
        case "-c": options.cluster = true
        case "--tls": options.tls = true
        case "--cacert": options.caCertificate = value(flag)
        case "--cert": options.certificate = value(flag)
        case "--key": options.key = value(flag)
        case "--insecure": options.insecure = true
        case "-2": options.resp3 = false
        case "-3": options.resp3 = true
        case "--raw": options.mode = .raw
        case "--no-raw": options.mode = .human
        case "--csv": options.mode = .csv
        case "-r": options.repetitions = number(flag)
        case "-i":
            let text = value(flag)
            guard let seconds = Double(text), seconds.isFinite, (0...1_000_000).contains(seconds) else {
                fail("-i needs a number of seconds, not \(text)")
            }
            options.interval = seconds
        case "--latency": options.operatorMode = .latency
        case "--latency-history": options.operatorMode = .latencyHistory
        case "--scan": options.operatorMode = .scan
        case "--bigkeys": options.operatorMode = .bigkeys
        case "--stat": options.operatorMode = .stat
        case "--pattern": options.pattern = value(flag)
        case "--quoted-pattern":
            guard let unquoted = splitArguments("\"" + value(flag) + "\""), unquoted.count == 1 else {
                fail("Invalid quoted string specified for --quoted-pattern.")
            }
            options.pattern = unquoted[0]
        case "--count": options.count = number(flag)
        case "--help":
            print(
                "usage: glide-cli [-h host] [-p port] [-u url] [-a password] [--user name] [-n db] [-c] [--tls [--cacert file] "
                    + "[--cert file --key file] [--insecure]] [-2|-3] [--raw|--no-raw|--csv] [-r count] [-i seconds] [command [arg ...]]\n"
                    + "       glide-cli [connection options] --latency | --latency-history | --stat | --bigkeys | --scan [--pattern p] [--count n]"
            )
            exit(0)
        default: fail("unknown option \(flag) (glide-cli --help)")
        }
    }
    options.command = Array(rest)
    return options
}

/// A line split into arguments as valkey-cli splits it: spaces separate, `"…"` takes `\n`, `\t`,
/// `\"`, `\\` and `\xNN` escapes, `'…'` takes only `\'`. `nil` for unbalanced quotes.
func splitArguments(_ line: String) -> [String]? {
    var arguments: [String] = []
    var characters = Array(line.utf8)[...]
    while true {
        while let first = characters.first, first == 0x20 || first == 0x09 { characters.removeFirst() }
        guard let first = characters.first else { return arguments }
        var current: [UInt8] = []
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            let quote = characters.removeFirst()
            var closed = false
            while let byte = characters.popFirst() {
                if byte == quote {
                    closed = true
                    break
                }
                guard byte == UInt8(ascii: "\\"), let escaped = characters.popFirst() else {
                    current.append(byte)
                    continue
                }
                if quote == UInt8(ascii: "'") {
                    if escaped != UInt8(ascii: "'") { current.append(byte) }
                    current.append(escaped)
                    continue
                }
                switch escaped {
                case UInt8(ascii: "n"): current.append(0x0A)
                case UInt8(ascii: "r"): current.append(0x0D)
                case UInt8(ascii: "t"): current.append(0x09)
                case UInt8(ascii: "b"): current.append(0x08)
                case UInt8(ascii: "a"): current.append(0x07)
                case UInt8(ascii: "x"):
                    let hex = String(decoding: characters.prefix(2), as: UTF8.self)
                    guard hex.count == 2, let value = UInt8(hex, radix: 16) else { return nil }
                    characters.removeFirst(2)
                    current.append(value)
                default: current.append(escaped)
                }
            }
            guard closed else { return nil }
        } else {
            while let byte = characters.first, byte != 0x20, byte != 0x09 {
                current.append(characters.removeFirst())
            }
        }
        arguments.append(String(decoding: current, as: UTF8.self))
    }
}

let options = parse(Array(CommandLine.arguments.dropFirst()))

func tlsConfiguration() -> TLSConfiguration? {
    guard options.tls else { return nil }
    if options.insecure { return .insecure }
    return TLSConfiguration(
        trustRoots: options.caCertificate.map { .file($0) }, certificateChain: options.certificate.map { .file($0) },
        privateKey: options.key.map { .file($0) })
}

/// Sends one command and returns its reply: one value, or one per node (named) on a cluster.
typealias Send = @Sendable ([String]) async throws(GlideError) -> [(node: String?, value: RESPValue)]

/// Sends one command and prints its reply as valkey-cli does; returns whether it succeeded.
func run(_ arguments: [String], with send: Send) async -> Bool {
    do throws(GlideError) {
        for (node, value) in try await send(arguments) {
            if let node { print("\(node):") }
            print(ReplyFormat.format(value, options.mode), terminator: "")
        }
        return true
    } catch {
        print(ReplyFormat.error(error.message, options.mode), terminator: "")
        return false
    }
}

/// Connects as the options say: how to send a command, how to close, and what the operator modes use.
func connect() async -> (Send, @Sendable () async -> Void, OperatorConnection) {
    let credentials = options.password.map { ServerCredentials(password: $0, username: options.user) }
    let protocolVersion: ProtocolVersion = options.resp3 ? .resp3 : .resp2
    do throws(GlideError) {
        if options.cluster {
            var configuration = GlideClusterClientConfiguration(addresses: [NodeAddress(host: options.host, port: options.port)])
            if let url = options.url { configuration = try GlideClusterClientConfiguration(url: url) }
            configuration.protocolVersion = protocolVersion
            configuration.requestTimeout = .seconds(30)
            if options.tls {
                configuration.useTLS = true
                configuration.tlsConfiguration = tlsConfiguration()
            }
            if let credentials { configuration.credentials = credentials }
            let client = try await GlideClusterClient.create(configuration)
            let send: Send = { arguments throws(GlideError) in
                switch try await client.customCommand(arguments) {
                case .single(let value): return [(nil, value)]
                case .perNode(let replies):
                    return replies.sorted { $0.key.description < $1.key.description }.map { ($0.key.description, $0.value) }
                }
            }
            let operators = OperatorConnection(
                send: send,
                sendBytes: { arguments throws(GlideError) in
                    guard case .single(let value) = try await client.customCommand(arguments) else {
                        throw GlideError(.routing, "\(arguments.first?.string ?? "") was answered by several nodes")
                    }
                    return value
                },
                keyPages: { pattern, count in
                    KeyPages { pages throws(GlideError) in
                        guard !pages.clusterCursor.isFinished else { return nil }
                        let page = try await client.scan(pages.clusterCursor, match: pattern, count: count)
                        pages.clusterCursor = page.cursor
                        return page.keys
                    }
                })
            return (send, { await client.close() }, operators)
        }
        var configuration = GlideClientConfiguration(addresses: [NodeAddress(host: options.host, port: options.port)])
        if let url = options.url { configuration = try GlideClientConfiguration(url: url) }
        configuration.protocolVersion = protocolVersion
        configuration.requestTimeout = .seconds(30)
        if options.database != 0 { configuration.databaseID = options.database }
        if options.tls {
            configuration.useTLS = true
            configuration.tlsConfiguration = tlsConfiguration()
        }
        if let credentials { configuration.credentials = credentials }
        let client = try await GlideClient.create(configuration)
        let send: Send = { arguments throws(GlideError) in [(nil, try await client.customCommand(arguments))] }
        let operators = OperatorConnection(
            send: send, sendBytes: { arguments throws(GlideError) in try await client.customCommand(arguments) },
            keyPages: { pattern, count in
                KeyPages { pages throws(GlideError) in
                    guard let cursor = pages.cursor else { return nil }
                    let page = try await client.scan(cursor, match: pattern.map { BulkString($0) }, count: count)
                    pages.cursor = page.isComplete ? nil : page.cursor
                    return page.elements
                }
            })
        return (send, { await client.close() }, operators)
    } catch {
        fail("Could not connect to \(options.url ?? "\(options.host):\(options.port)"): \(error.message)")
    }
}

let (send, close, operators) = await connect()
var succeeded = true
if let mode = options.operatorMode {
    succeeded = await mode.run(operators, options: options)
} else if !options.command.isEmpty {
    var round = 0
    while options.repetitions < 0 || round < options.repetitions {
        if round > 0 && options.interval > 0 { try? await Task.sleep(for: .milliseconds(Int(options.interval * 1000))) }
        succeeded = await run(options.command, with: send) && succeeded
        round += 1
    }
} else if isatty(STDIN_FILENO) == 0 {
    while let line = readLine() {
        guard let arguments = splitArguments(line) else {
            print("Invalid argument(s)")
            succeeded = false
            continue
        }
        guard !arguments.isEmpty else { continue }
        succeeded = await run(arguments, with: send) && succeeded
    }
} else {
    // Interactive: a prompt with line editing, history in ~/.glide_cli_history, and syntax hints
    // from the server's own COMMAND DOCS, as valkey-cli's.
    let docs = try? await send(["COMMAND", "DOCS"]).first?.value
    let hints = CommandHints(docs: docs)
    let home = ProcessInfo.processInfo.environment["HOME"]
    let editor = LineEditor(historyFile: home.map { $0 + "/.glide_cli_history" }, hint: hints.hint(for:))
    let prompt = options.url ?? "\(options.host):\(options.port)" + (options.database != 0 ? "[\(options.database)]" : "")
    while let line = editor.readLine(prompt: prompt + "> ") {
        guard let arguments = splitArguments(line) else {
            print("Invalid argument(s)")
            continue
        }
        guard let first = arguments.first else { continue }
        if ["QUIT", "EXIT"].contains(first.uppercased()) { break }
        _ = await run(arguments, with: send)
    }
}
await close()
exit(succeeded ? 0 : 1)
