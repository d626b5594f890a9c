import Foundation

/// How much slower than usual the tests run: 1, or `GLIDE_TEST_TIME_SCALE` under the sanitizers
/// (`make tsan`, `make asan` set it), whose instrumentation makes everything several times
/// slower. Upper bounds on how long something may take, and the support's default timeouts, are
/// multiplied by it; nothing else is, and a normal run (`make test`) uses 1.
public enum TestTiming {
    /// The factor.
    public static let scale: Int = Int(ProcessInfo.processInfo.environment["GLIDE_TEST_TIME_SCALE"] ?? "") ?? 1

    /// `duration` scaled: an upper bound that holds on an instrumented build too.
    public static func bound(_ duration: Duration) -> Duration { duration * scale }
}
