import Foundation
import GlideTestSupport
import Testing

/// glide-cli's interactive prompt in a real terminal: tmux runs it, the test types keys and
/// reads the screen. Editing, running, syntax hints from the server, history and its file.
@Suite(.timeLimit(.minutes(5))) struct GlideCLIREPLTests {
    @Test func thePromptEditsRunsHintsAndRemembers() async throws {
        let server = try await TestServer.startValkey()
        defer { server.stop() }
        let glide = try ServerBinaries.product("glide-cli")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("glide-cli-home-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let terminal = try Terminal()
        defer { terminal.close() }
        try await terminal.start("env HOME=\(home.path) \(glide) -p \(server.port)")
        let prompt = "127.0.0.1:\(server.port)> "
        // capture-pane drops a line's trailing spaces.
        try await terminal.waitFor("the prompt") { $0.contains("127.0.0.1:\(server.port)>") }

        try await terminal.type("SET repl:k \"two words\"", "Enter")
        try await terminal.waitFor("OK") { Terminal.lines($0, "OK") == 1 }
        try await terminal.type("GET repl:k", "Enter")
        try await terminal.waitFor("the value") { Terminal.lines($0, "\"two words\"") == 1 }

        // A hint from COMMAND DOCS (Redis 7): the arguments still to type. An older server has
        // none to give, and the prompt goes on without.
        try await terminal.type("ZADD repl:z ")
        if ServerFeatures.has(redis: "7.0") {
            try await terminal.waitFor("ZADD's hint") {
                $0.contains("ZADD repl:z [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]")
            }
        } else {
            print("\(ServerBinaries.mainServer.version): no COMMAND DOCS (Redis 7.0); the prompt gives no hints")
        }

        // Editing: clear the line, type a typo, go back over it, fix it.
        try await terminal.type("C-u")
        try await terminal.type("GEX repl:k")
        try await terminal.type("Left", "Left", "Left", "Left", "Left", "Left", "Left", "BSpace")
        try await terminal.type("T", "Enter")
        try await terminal.waitFor("the fixed command's reply") { Terminal.lines($0, "\"two words\"") == 2 }

        // History: Up recalls the last command.
        try await terminal.type("Up", "Enter")
        try await terminal.waitFor("the recalled command's reply") { Terminal.lines($0, "\"two words\"") == 3 }
        #expect(Terminal.lines(try await terminal.screen(), prompt + "GET repl:k") == 3)

        // Ctrl-D on an empty line quits; the history file kept every command, once each in a row.
        try await terminal.type("C-d")
        let historyFile = home.appendingPathComponent(".glide_cli_history").path
        try await Polling.waitUntil("glide-cli exits and its history is written") {
            (try? String(contentsOfFile: historyFile, encoding: .utf8)) == "SET repl:k \"two words\"\nGET repl:k\n"
        }
    }
}

/// A tmux server of the test's own (its own socket), running one program in a 120×30 window.
final class Terminal: Sendable {
    let tmux: String
    let socket = "glide-test-\(UUID().uuidString.prefix(8))"

    init() throws {
        tmux = try ServerBinaries.tmux()
    }

    /// Starts the tmux server with `command` in its window.
    func start(_ command: String) async throws {
        let arguments = ["new-session", "-d", "-s", "main", "-x", "120", "-y", "30", command]
        let tmux = tmux
        let socket = socket
        let outcome = try await offThePool { try Command.run(tmux, ["-L", socket] + arguments) }
        guard outcome.status == 0 else { throw ChildProcessFailure("tmux new-session failed (\(outcome.status)): \(outcome.output)") }
    }

    /// Sends text literally (`-l`) when it is not a key name (`Enter`, `Left`, `C-u`, …).
    func type(_ inputs: String...) async throws {
        let keys: Set = ["Enter", "Left", "Right", "Up", "Down", "BSpace", "C-u", "C-d", "C-c", "C-a", "C-e"]
        for input in inputs {
            try await run(keys.contains(input) ? ["send-keys", "-t", "main", input] : ["send-keys", "-t", "main", "-l", input])
        }
    }

    /// How many of `screen`'s lines are exactly `line`.
    static func lines(_ screen: String, _ line: String) -> Int {
        screen.split(separator: "\n", omittingEmptySubsequences: false).count { $0 == line }
    }

    /// The visible screen and scrollback, as text.
    func screen() async throws -> String {
        try await run(["capture-pane", "-p", "-t", "main", "-S", "-200"])
    }

    func waitFor(_ what: String, _ condition: @escaping @Sendable (String) -> Bool) async throws {
        try await Polling.waitUntil(what, timeout: .seconds(20)) { [self] in condition(try await self.screen()) }
    }

    /// Ends the tmux server this test started (and the program in it); takes milliseconds.
    func close() {
        _ = try? Command.run(tmux, ["-L", socket, "kill-server"])
        unlink("/tmp/tmux-\(getuid())/\(socket)")  // the socket file tmux leaves behind
    }

    /// Runs tmux off the cooperative pool (it blocks while tmux runs).
    @discardableResult
    private func run(_ arguments: [String]) async throws -> String {
        let tmux = tmux
        let socket = socket
        return try await offThePool { try Command.run(tmux, ["-L", socket] + arguments, keepErrors: false).output }
    }
}
