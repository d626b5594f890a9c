import GlideConnection

/// What a borrower did to its dedicated connection that the next borrower must not inherit.
struct DedicatedSession {
    /// Whether the borrower's closure still runs.
    var isActive = true
    /// Keys may be watched (`WATCH` sent, no `EXEC`, `DISCARD` or `UNWATCH` answered since).
    var watching = false
    /// A `MULTI` may be open.
    var inTransaction = false
    /// A command changed what the connection is (its database, user, protocol, name, tracking):
    /// it is closed, not lent again.
    var isTainted = false
    /// Requests sent and not yet answered.
    var inFlight = 0

    /// What a command does to the connection's state.
    enum Effect {
        case none, watch, unwatch, multi, endsTransaction, taints
    }

    /// The effect of the command called `name` (a subcommand as `CLIENT SETNAME`).
    static func effect(of name: String) -> Effect {
        switch name {
        case "WATCH": .watch
        case "UNWATCH": .unwatch
        case "MULTI": .multi
        case "EXEC", "DISCARD": .endsTransaction
        case "SELECT", "AUTH", "HELLO", "READONLY", "READWRITE", "RESET": .taints
        // A subcommand the table doesn't know comes as the bare `CLIENT`.
        case "CLIENT": .taints
        case _ where name.hasPrefix("CLIENT "): harmlessClientCommands.contains(name) ? .none : .taints
        default: .none
        }
    }

    /// `CLIENT` subcommands that change nothing about the connection they run on.
    static let harmlessClientCommands: Set<String> = [
        "CLIENT ID", "CLIENT INFO", "CLIENT GETNAME", "CLIENT GETREDIR", "CLIENT LIST", "CLIENT TRACKINGINFO", "CLIENT HELP",
        "CLIENT KILL", "CLIENT PAUSE", "CLIENT UNPAUSE", "CLIENT UNBLOCK",
    ]

    /// A command with `effect` is about to be sent; `false` once the borrower's closure returned.
    mutating func begin(_ effect: Effect) -> Bool {
        guard isActive else { return false }
        inFlight += 1
        switch effect {
        case .watch: watching = true
        case .multi: inTransaction = true
        case .taints: isTainted = true
        case .none, .unwatch, .endsTransaction: break
        }
        return true
    }

    /// The command with `effect` failed; `answered` when the server replied (with an error).
    mutating func failed(_ effect: Effect, answered: Bool) {
        // `EXEC` or `DISCARD` refused outside a transaction changed nothing; in one, it ended it.
        guard answered, effect != .endsTransaction || inTransaction else {
            inFlight -= 1
            return
        }
        self.answered(effect)
    }

    /// The command with `effect` was answered.
    mutating func answered(_ effect: Effect) {
        inFlight -= 1
        switch effect {
        case .unwatch: watching = false
        case .endsTransaction:
            watching = false
            inTransaction = false
        case .none, .watch, .multi, .taints: break
        }
    }

    /// The commands that make the connection clean again.
    var cleanUp: [[String]] { (inTransaction ? [["DISCARD"]] : []) + (watching ? [["UNWATCH"]] : []) }

    static var endedError: GlideError {
        GlideError(
            .configuration,
            "this dedicated connection went back to its pool when its withDedicatedConnection closure returned; use it inside the closure only"
        )
    }
}
