public import Glide

/// Loads that tests put on a client.
public enum Workloads {
    /// `tasks` tasks share `client`, each writing `value(task, round)` to its own key under
    /// `prefix` and reading it back, `rounds` times. Returns how many reads gave anything but
    /// the task's own last write: a reply that reached the wrong caller.
    public static func setGetMismatches(
        on client: GlideClient, prefix: String, tasks: Int = 200, rounds: Int,
        value: @escaping @Sendable (_ task: Int, _ round: Int) -> String = { "\($0)-\($1)" }
    )
        async throws -> Int
    {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var wrong = 0
                    for round in 0..<rounds {
                        let expected = value(task, round)
                        try await client.set("\(prefix):\(task)", expected)
                        let read: String? = try await client.get("\(prefix):\(task)")
                        if read != expected { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
    }
}
