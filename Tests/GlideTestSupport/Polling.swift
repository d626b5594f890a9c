import Foundation
public import Glide

/// Waiting for a condition that another process makes true.
public enum Polling {
    /// Polls `condition` every `interval` until it holds, failing after `timeout`, which bounds
    /// the wait; it is never what a test asserts.
    public static func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(50),
        _ condition: @Sendable () async throws -> Bool
    ) async throws {
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

/// Runs blocking work (a child process, a blocking socket probe) on a thread of its own, so it
/// never holds one of the few threads of Swift's cooperative pool that every test shares: a test
/// stalled there would measure the stall.
public func offThePool<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// The error `body` throws, or `nil` when it returns: for a request whose failure a test inspects
/// after it ran in a task of its own. (An error of another type comes back as a protocol error
/// that names it, so a test expecting a `GlideError` code fails with it in view.)
public func failure(of body: () async throws -> Void) async -> GlideError? {
    do {
        try await body()
        return nil
    } catch let error as GlideError {
        return error
    } catch {
        return GlideError(.protocolError, "not a GlideError: \(error)")
    }
}
