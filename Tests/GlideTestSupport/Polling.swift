import Foundation

/// Waiting for a condition that another process makes true.
public enum Polling {
    /// Polls `condition` every `interval` until it holds, failing after `timeout`, which bounds
    /// the wait; it is never what a test asserts.
    public static func waitUntil(_ what: String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(50),
                                 _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: interval)
        }
        throw ServerStartFailure("timed out waiting until \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
    }
}
