import Foundation

/// A network namespace joined to the tests' own by a veth pair, for true partitions: a server
/// started in it (`TestServer.startValkey(in:)`) is reached at `serverHost` over the pair, and
/// `partition()` takes the namespace's end down, so packets are dropped with no reset in either
/// direction, as a cut cable or a firewall's DROP would; `heal()` brings it back, and TCP's
/// retransmissions deliver what was held up.
///
/// Needs root and iproute2 (`ip`), as CI has. Without them `create()` throws an error that says
/// so: the tests fail rather than skip. `remove()` (or the end of the test process) deletes the
/// namespace and with it both ends of the pair; only namespaces this support made are deleted.
public final class NetworkNamespace: @unchecked Sendable {
    /// The namespace's name.
    public let name: String
    /// The address of the namespace's end of the pair, where its servers listen.
    public let serverHost: String
    /// The namespace's end of the pair.
    let innerLink: String
    private let lock = NSLock()
    private var removed = false

    /// The `ip` binary.
    static let ip =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"

    private static let counter = NSLock()
    nonisolated(unsafe) private static var made = 0

    private init(name: String, serverHost: String, innerLink: String) {
        self.name = name
        self.serverHost = serverHost
        self.innerLink = innerLink
    }

    deinit { remove() }

    /// A new namespace with its pair up and addressed: `10.251.<n>.1/30` on the tests' side,
    /// `10.251.<n>.2/30` inside, with `<n>` one no address of this machine uses. The `ip` calls
    /// wait for their processes, so they run off the cooperative pool.
    public static func create() async throws -> NetworkNamespace {
        try await offThePool { try make() }
    }

    private static func make() throws -> NetworkNamespace {
        let index = counter.withLock { () -> Int in
            made += 1
            return made
        }
        let pid = Int(getpid()) % 100_000
        let name = "glide-test-\(pid)-\(index)"
        let outer = "gl\(pid)x\(index)"
        let inner = "gl\(pid)y\(index)"
        let used = (try? run(["-o", "-4", "addr", "show"])) ?? ""
        guard let subnet = (1..<255).first(where: { !used.contains("10.251.\($0).") }) else {
            throw NamespaceFailure("no free 10.251.x.0/30 subnet for a test namespace")
        }
        let namespace = NetworkNamespace(name: name, serverHost: "10.251.\(subnet).2", innerLink: inner)
        do {
            try run(["netns", "add", name])
            NamespaceRegistry.register(name)
            try run(["link", "add", outer, "type", "veth", "peer", "name", inner])
            try run(["link", "set", inner, "netns", name])
            try run(["addr", "add", "10.251.\(subnet).1/30", "dev", outer])
            try run(["link", "set", outer, "up"])
            try run(["netns", "exec", name, ip, "addr", "add", "10.251.\(subnet).2/30", "dev", inner])
            try run(["netns", "exec", name, ip, "link", "set", inner, "up"])
            try run(["netns", "exec", name, ip, "link", "set", "lo", "up"])
            // Each end's neighbour fixed, so no ARP runs: during a partition the packets are
            // simply dropped, and after it nothing waits for an address to be resolved again.
            let outerMAC = try mac(of: run(["-o", "link", "show", outer]))
            let innerMAC = try mac(of: run(["netns", "exec", name, ip, "-o", "link", "show", inner]))
            try run(["neigh", "replace", "10.251.\(subnet).2", "lladdr", innerMAC, "dev", outer, "nud", "permanent"])
            try run([
                "netns", "exec", name, ip, "neigh", "replace", "10.251.\(subnet).1", "lladdr", outerMAC, "dev", inner, "nud", "permanent",
            ])
        } catch {
            namespace.remove()
            // The veth's outer end goes with the namespace once its peer is inside; before that,
            // it is deleted on its own.
            _ = try? run(["link", "del", outer])
            throw error
        }
        return namespace
    }

    /// The hardware address in a line of `ip -o link show`.
    private static func mac(of line: String) throws -> String {
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: "link/ether"), index + 1 < words.count else {
            throw NamespaceFailure("no hardware address in `\(line)`")
        }
        return String(words[index + 1])
    }

    /// Cuts the namespace off: its end of the pair goes down, and packets both ways are dropped.
    public func partition() async throws {
        let arguments = ["netns", "exec", name, Self.ip, "link", "set", innerLink, "down"]
        _ = try await offThePool { try Self.run(arguments) }
    }

    /// Ends the partition.
    public func heal() async throws {
        let arguments = ["netns", "exec", name, Self.ip, "link", "set", innerLink, "up"]
        _ = try await offThePool { try Self.run(arguments) }
    }

    /// Deletes the namespace and its pair. Stop its servers first: a process still inside keeps
    /// the namespace alive. Safe to call more than once.
    public func remove() {
        guard
            lock.withLock({ () -> Bool in
                defer { removed = true }
                return !removed
            })
        else { return }
        _ = try? Self.run(["netns", "del", name])
        NamespaceRegistry.unregister(name)
    }

    /// Runs `ip` with `arguments`; its output, or an error with what it printed.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let outcome: Command.Outcome
        do {
            outcome = try Command.run(ip, arguments)
        } catch {
            throw NamespaceFailure("could not run `ip` (\(error)); network partitions need iproute2: `apt-get install iproute2`")
        }
        guard outcome.status == 0 else {
            throw NamespaceFailure(
                "`ip \(arguments.joined(separator: " "))` failed (status \(outcome.status)): \(outcome.output)"
                    + " Network partitions need root and iproute2, as CI has.")
        }
        return outcome.output
    }
}

/// Why a test namespace could not be made or changed.
public struct NamespaceFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The namespaces this support made and has not deleted: deleted at exit, so none outlives the
/// run (a server still inside is killed by `ServerRegistry` first).
enum NamespaceRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var names: Set<String> = []
    nonisolated(unsafe) private static var installed = false

    static func register(_ name: String) {
        lock.withLock {
            if !installed {
                installed = true
                atexit { NamespaceRegistry.removeAll() }
            }
            names.insert(name)
        }
    }

    static func unregister(_ name: String) {
        lock.withLock { _ = names.remove(name) }
    }

    static func removeAll() {
        for name in lock.withLock({ names }) { _ = try? NetworkNamespace.run(["netns", "del", name]) }
    }
}
