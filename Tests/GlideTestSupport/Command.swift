public import Foundation

/// Runs a short helper program (`ip`, `openssl`, a server's `--version`, glide-cli, tmux) to its
/// exit and gives back what it printed.
///
/// What it prints goes to a temporary file, not a pipe, and its exit is read from the kernel
/// (`ChildProcess`): nothing here waits for a descriptor that another child could hold.
public enum Command {
    /// How a program ended: its exit status, and what it printed.
    public struct Outcome: Sendable {
        /// The exit code, or 128 plus the number of the signal that ended it.
        public let status: Int32
        /// Its standard output, and its standard error when it was kept.
        public let output: String
    }

    /// Runs `executable` with `arguments` in `directory`, with `input` (or nothing) on its
    /// standard input, and waits for it to exit. Its standard error joins the output when
    /// `keepErrors` is true, and is discarded otherwise. It blocks: call it off the cooperative
    /// pool (`offThePool`) where a test waits on it.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, directory: URL? = nil, keepErrors: Bool = true
    ) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glide-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputFile = scratch.appendingPathComponent("output")
        var inputFile: URL?
        if let input {
            inputFile = scratch.appendingPathComponent("input")
            try Data(input.utf8).write(to: inputFile!)
        }
        let child = try ChildProcess.spawn(
            executable, arguments, directory: directory?.path, input: inputFile?.path, output: outputFile.path,
            errorsToOutput: keepErrors)
        let status = child.waitForExit()
        let printed = (try? Data(contentsOf: outputFile)) ?? Data()
        return Outcome(status: status, output: String(decoding: printed, as: UTF8.self))
    }
}
