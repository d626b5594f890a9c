public import Foundation
public import Glide

/// A real valkey-server (or redis-server) process on a free loopback port, in a temporary
/// directory of its own. Stopped by PID, and only the processes a test started.
public final class TestServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: Int
    /// Its working directory, removed by `stop()`.
    public let directory: URL
    /// The arguments it was started with, after the port and directory.
    public let extraArguments: [String]
    /// The IPv4 address it binds and is reached at: loopback, or its network namespace's.
    public let host: String
    /// The network namespace it runs in, if not the tests' own.
    public let namespace: NetworkNamespace?
    let binary: String
    private let lock = NSLock()
    private var process: ChildProcess?

    /// Where to connect.
    public var address: NodeAddress { NodeAddress(host: host, port: port) }

    /// The server's PID while it runs.
    public var pid: Int32? { lock.withLock { process?.pid } }

    /// Whether the port speaks TLS only (redis-server with `--port 0 --tls-port`).
    public let usesTLS: Bool
    /// For a sentinel, its configuration file's first contents (the sentinel rewrites the file).
    let sentinelConfiguration: String?

    private init(
        binary: String, port: Int, directory: URL, extraArguments: [String], usesTLS: Bool = false,
        sentinelConfiguration: String? = nil, namespace: NetworkNamespace? = nil
    ) {
        self.binary = binary
        self.namespace = namespace
        self.host = namespace?.serverHost ?? "127.0.0.1"
        self.port = port
        self.directory = directory
        self.extraArguments = extraArguments
        self.usesTLS = usesTLS
        self.sentinelConfiguration = sentinelConfiguration
    }

    deinit { stop() }

    /// Starts valkey-server with `arguments` (in `valkey.conf` order: `["--requirepass", "x"]`).
    /// `{dir}` in an argument stands for the server's own directory, removed with it
    /// (`["--unixsocket", "{dir}/valkey.sock"]`).
    public static func startValkey(_ arguments: [String] = []) async throws -> TestServer {
        try await start(binary: ServerBinaries.valkeyServer(), arguments: forMainServer(arguments))
    }

    /// Starts valkey-server with `arguments` inside `namespace`, bound to its address there: a
    /// partition of the namespace cuts the server off from the tests' side without a reset.
    public static func startValkey(in namespace: NetworkNamespace, _ arguments: [String] = []) async throws -> TestServer {
        try await start(
            binary: ServerBinaries.valkeyServer(), arguments: ["--protected-mode", "no"] + forMainServer(arguments), namespace: namespace)
    }

    /// Starts redis-server with `arguments`.
    public static func startRedis(_ arguments: [String] = []) async throws -> TestServer {
        try await start(binary: ServerBinaries.redisServer(), arguments: arguments)
    }

    /// Starts valkey-server with `arguments` plus, for each attempt, what `perAttempt` adds (such
    /// as another free port, for a cluster bus), on a port `port` finds.
    public static func startValkey(
        _ arguments: [String], perAttempt: () throws -> [String], port: () throws -> Int = FreePort.find
    ) async throws -> TestServer {
        try await start(binary: ServerBinaries.valkeyServer(), arguments: forMainServer(arguments), perAttempt: perAttempt, port: port)
    }

    /// `arguments` as the main server takes them: Redis 6 has no `enable-debug-command` (its
    /// `DEBUG` is always on), so that option is left out there.
    static func forMainServer(_ arguments: [String]) -> [String] {
        guard !ServerBinaries.mainServerHasRedis7Cluster, let index = arguments.firstIndex(of: "--enable-debug-command"),
            index + 1 < arguments.count
        else { return arguments }
        return Array(arguments[..<index] + arguments[(index + 2)...])
    }

    /// Starts redis-server (Debian's is built with TLS) listening with TLS only, presenting
    /// `certificate` and trusting `certificates.caCertificate` for client certificates.
    /// `clientCertificates` is `tls-auth-clients`: `"no"`, `"optional"` or `"yes"`.
    public static func startRedisTLS(
        _ certificates: TestCertificates, certificate: String? = nil, key: String? = nil,
        clientCertificates: String = "no", _ arguments: [String] = [],
        perAttempt: () throws -> [String] = { [] }
    ) async throws -> TestServer {
        let tls = [
            "--tls-cert-file", certificate ?? certificates.serverCertificate,
            "--tls-key-file", key ?? certificates.serverKey,
            "--tls-ca-cert-file", certificates.caCertificate,
            "--tls-auth-clients", clientCertificates,
        ]
        return try await start(binary: ServerBinaries.redisServer(), arguments: tls + arguments, perAttempt: perAttempt, usesTLS: true)
    }

    /// Starts `valkey-server --sentinel` with a configuration file holding `lines` (`sentinel
    /// monitor …` and the like).
    public static func startSentinel(_ lines: [String]) async throws -> TestServer {
        try await start(binary: ServerBinaries.valkeyServer(), arguments: [], sentinelConfiguration: lines.joined(separator: "\n") + "\n")
    }

    /// Starts `redis-server --sentinel` (Debian's Redis 7, built with TLS) listening with TLS
    /// only, presenting the test server certificate and reaching the nodes it monitors with TLS.
    public static func startRedisTLSSentinel(_ certificates: TestCertificates, _ lines: [String]) async throws -> TestServer {
        let tls = [
            "tls-cert-file \(certificates.serverCertificate)", "tls-key-file \(certificates.serverKey)",
            "tls-ca-cert-file \(certificates.caCertificate)", "tls-auth-clients no", "tls-replication yes",
        ]
        return try await start(
            binary: ServerBinaries.redisServer(), arguments: [], usesTLS: true,
            sentinelConfiguration: (tls + lines).joined(separator: "\n") + "\n")
    }

    static func start(
        binary: String, arguments: [String], perAttempt: () throws -> [String] = { [] }, port: () throws -> Int = FreePort.find,
        usesTLS: Bool = false, sentinelConfiguration: String? = nil, namespace: NetworkNamespace? = nil
    ) async throws -> TestServer {
        var lastError: (any Error)?
        // A port found free can be taken before the server binds it; try another then.
        for _ in 0..<5 {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("glide-test-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = TestServer(
                binary: binary, port: try port(), directory: directory,
                extraArguments: arguments + (try perAttempt()), usesTLS: usesTLS,
                sentinelConfiguration: sentinelConfiguration, namespace: namespace)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
                server.stop()
            }
        }
        throw lastError!
    }

    /// Starts the process again on the same port and directory, after `kill()`.
    public func restart() async throws {
        try await launch()
    }

    private func launch() async throws {
        // `ip netns exec` enters the namespace and execs the server: the PID stays the server's.
        let launcher = namespace.map { ["netns", "exec", $0.name, binary] } ?? []
        let ports = usesTLS ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)]
        var sentinel: [String] = []
        if let sentinelConfiguration {
            // The file comes first; a restarted sentinel keeps what it rewrote.
            let file = directory.appendingPathComponent("sentinel.conf")
            if !FileManager.default.fileExists(atPath: file.path) {
                try sentinelConfiguration.write(to: file, atomically: true, encoding: .utf8)
            }
            sentinel = [file.path, "--sentinel"]
        }
        let arguments =
            launcher + sentinel + ports + [
                "--bind", host, "--dir", directory.path,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--logfile", directory.appendingPathComponent("server.log").path,
            ]
            + extraArguments.map { $0.replacingOccurrences(of: "{dir}", with: directory.path) }
        // A server that exits by itself leaves the registry before its PID can be reused.
        let process = try ChildProcess.spawn(
            launcher.isEmpty ? binary : NetworkNamespace.ip, arguments, directory: directory.path,
            exiting: { ServerRegistry.unregister($0) })
        ServerRegistry.register(process.pid, directory: directory)
        lock.withLock { self.process = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                throw ServerStartFailure("\(binary) exited with status \(process.terminationStatus ?? -1): \(log())")
            }
            // The probes block on sockets: off the cooperative pool.
            let pid = process.pid
            let port = self.port
            let host = self.host
            let up =
                usesTLS
                ? try await offThePool { [self] in listensForTLS(process) }
                : try await offThePool { FreePort.servesRESP(host: host, port: port, pid: pid) }
            if up { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerStartFailure("\(binary) did not accept connections on port \(port) within 10 s: \(log())")
    }

    /// A TLS port can't be asked `INFO` in plain text: the server's own log says it listens (a
    /// Redis sentinel logs its first monitor instead), and a server that could not bind its port
    /// would have exited.
    private func listensForTLS(_ process: ChildProcess) -> Bool {
        let log = log()
        let ready = log.contains("Ready to accept connections") || (sentinelConfiguration != nil && log.contains("+monitor master"))
        return ready && process.isRunning && FreePort.accepts(port: port)
    }

    /// How the current process stands, for failure messages: `running`, or how it ended (its
    /// exit code, or 128 plus the signal that ended it, as a crash or the OOM killer would).
    public var processState: String {
        guard let process = lock.withLock({ self.process }) else { return "no process" }
        guard let status = process.terminationStatus else { return "pid \(process.pid) running" }
        return "pid \(process.pid) exited with status \(status)" + (status > 128 ? " (signal \(status - 128))" : "")
    }

    /// The server's log, for failure messages.
    public func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Kills the process at once (SIGKILL), as a crash would; the directory stays for `restart()`.
    ///
    /// Waits for the exit by polling with `Task.sleep`: blocking a thread of Swift's small
    /// cooperative pool would stall every test running in parallel.
    public func kill() async {
        guard let process = lock.withLock({ self.process }) else { return }
        process.signal(SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        ServerRegistry.unregister(process.pid)
        lock.withLock { self.process = nil }
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets open and answers nothing, as a server
    /// stalled by the machine would, until `thaw()`.
    public func freeze() {
        lock.withLock { process }?.signal(SIGSTOP)
    }

    /// Lets a frozen process run again (SIGCONT).
    public func thaw() {
        lock.withLock { process }?.signal(SIGCONT)
    }

    /// Stops the process and removes its directory: SIGTERM now, then, on a thread of its own, a
    /// SIGKILL if it hasn't exited after 5 s. Returns at once, so it is safe in `defer`; if the
    /// test process exits first, the registry's exit hook kills the server.
    public func stop() {
        let process = lock.withLock { () -> ChildProcess? in
            let running = self.process
            self.process = nil
            return running
        }
        let directory = self.directory
        if let process, process.isRunning {
            process.signal(SIGCONT)  // a frozen server can't exit
            process.signal(SIGTERM)
        }
        Thread.detachNewThread {
            if let process, process.isRunning {
                let deadline = Date().addingTimeInterval(5)
                while process.isRunning && Date() < deadline { usleep(10_000) }
                process.signal(SIGKILL)
                process.waitForExit()
            }
            if let process { ServerRegistry.unregister(process.pid) }
            try? FileManager.default.removeItem(at: directory)
            ServerRegistry.directoryRemoved(directory)
        }
    }

    /// A client configuration for this server, with the given changes applied.
    public func configuration(_ change: (inout GlideClientConfiguration) -> Void = { _ in }) -> GlideClientConfiguration {
        var configuration = GlideClientConfiguration(addresses: [address]).with {
            $0.requestTimeout = TestTiming.bound(.seconds(5))
            $0.connectionTimeout = TestTiming.bound(.seconds(2))
        }
        if usesTLS, let certificates = TestCertificates.made {
            configuration.useTLS = true
            configuration.tlsConfiguration = certificates.clientTLS
        }
        change(&configuration)
        return configuration
    }

    /// A connected client with the given configuration changes.
    public func client(_ change: (inout GlideClientConfiguration) -> Void = { _ in }) async throws -> GlideClient {
        try await GlideClient.create(configuration(change))
    }

    /// Waits until the server counts `count` clients blocked in a blocking command, asking
    /// through a connection of its own: what a test waits for before a fault that must find the
    /// commands blocked (rather than sleeping and hoping they got there).
    public func waitUntilBlocked(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let admin = try await client()
        do {
            try await Polling.waitUntil("\(count) clients blocked", timeout: timeout, interval: .milliseconds(10)) {
                try await admin.info([.clients]).contains("blocked_clients:\(count)\r\n")
            }
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
    }
}

/// A server that could not be started.
public struct ServerStartFailure: Error, CustomStringConvertible {
    /// Why, with the server's log.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One valkey-server shared by every test that only needs a plain server and uses its own keys.
public enum SharedServer {
    private static let server = Task { try await TestServer.startValkey() }

    /// The shared server, started on first use.
    public static func valkey() async throws -> TestServer { try await server.value }

    /// A key no other test uses.
    public static func uniqueKey(_ name: String = #function) -> String {
        "\(name.prefix(while: { $0 != "(" })):\(UUID().uuidString.prefix(8))"
    }
}
