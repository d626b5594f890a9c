/// The routing metadata of every command the server documents, generated from its
/// `COMMAND INFO` and `COMMAND DOCS`.
///
/// ```swift
/// let metadata = CommandTable.metadata(for: ["MSET", "a", "1", "b", "2"])!
/// metadata.keyIndices(in: arguments)   // [1, 3]
/// ```
public enum CommandTable {
    /// Every command and subcommand.
    public static let all: [CommandMetadata] = generatedEntries()

    static let byName: [String: CommandMetadata] = {
        var table: [String: CommandMetadata] = [:]
        for entry in all { table[entry.name] = entry }
        return table
    }()

    /// The metadata of `name`, such as `GET` or `CLIENT KILL`, in any letter case.
    public static func metadata(named name: String) -> CommandMetadata? {
        // A typed command's name is already upper-case: found without making a new string.
        byName[name] ?? byName[name.uppercased()]
    }

    /// The metadata of the command in `arguments` (its name first, then a subcommand if it has
    /// them). A container named without a known subcommand gives the container's own metadata.
    public static func metadata(for arguments: [Bytes]) -> CommandMetadata? {
        guard let first = arguments.first else { return nil }
        let name = first.string.uppercased()
        if containerNames.contains(name), arguments.count > 1,
            let subcommand = byName[name + " " + arguments[1].string.uppercased()]
        {
            return subcommand
        }
        return byName[name]
    }

    /// Why the command in `arguments` can't run on a shared connection, or `nil`: the same rule
    /// the typed commands' `multiplexingRefusal` states, for commands given as arguments.
    public static func multiplexingRefusal(for arguments: [Bytes]) -> String? {
        guard let name = metadata(for: arguments)?.name else { return nil }
        return multiplexingRefusals[name]
    }

    /// How long the server may hold back the reply of the blocking command in `arguments` (zero:
    /// forever), read from its timeout argument as the typed commands do; `nil` for a command
    /// that doesn't block (including `XREAD` without `BLOCK`).
    public static func blockingTimeout(for arguments: [Bytes]) -> Duration? {
        guard let first = arguments.first, arguments.count > 1 else { return nil }
        func number(_ index: Int) -> Double? {
            index < arguments.count ? Double(arguments[index].string) : nil
        }
        switch first.string.uppercased() {
        case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX":
            return number(arguments.count - 1).map(BlockingTimeout.seconds)
        case "BLMPOP", "BZMPOP":
            return number(1).map(BlockingTimeout.seconds)
        case "WAIT", "WAITAOF":
            return number(arguments.count - 1).map { BlockingTimeout.milliseconds(Int(exactly: $0.rounded()) ?? Int.max) }
        case "XREAD", "XREADGROUP":
            guard let block = arguments.firstIndex(where: { $0.equalsCaseInsensitive("BLOCK") }) else { return nil }
            return number(block + 1).map { BlockingTimeout.milliseconds(Int(exactly: $0.rounded()) ?? Int.max) }
        default:
            return nil
        }
    }
}
