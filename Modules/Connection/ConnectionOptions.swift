/// A password, and optionally an ACL user name, sent when connecting.
///
/// The password never appears in `description`, `debugDescription`, errors or logs.
public struct ServerCredentials: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The password.
    public var password: String
    /// The ACL user; `nil` authenticates as the `default` user.
    public var username: String?

    /// Credentials for `username` (or the default user) with `password`.
    public init(password: String, username: String? = nil) {
        self.password = password
        self.username = username
    }

    /// The user name, with the password redacted.
    public var description: String { "ServerCredentials(username: \(username ?? "default"), password: <redacted>)" }
    /// The same as `description`: the password stays redacted.
    public var debugDescription: String { description }

    /// The user name only, so `dump` and debuggers don't show the password either.
    public var customMirror: Mirror { Mirror(self, children: ["username": username ?? "default", "password": "<redacted>"]) }
}

/// The RESP version spoken after connecting.
public enum ProtocolVersion: Int, Hashable, Sendable {
    /// RESP2: no `HELLO`; maps arrive as flat arrays.
    case resp2 = 2
    /// RESP3: typed replies and out-of-band push messages.
    case resp3 = 3
}

/// How reconnection attempts are spaced: `factor × exponentBase^attempt` milliseconds, up to
/// `numberOfRetries` growing steps, each delay varied by up to `jitterPercent` percent.
public struct BackoffStrategy: Hashable, Sendable {
    /// The number of growing steps; after it, the delay stays at its largest.
    public var numberOfRetries: Int
    /// The first delay, in milliseconds.
    public var factor: Int
    /// How much each step multiplies the delay by.
    public var exponentBase: Int
    /// How far, in percent, a delay may be varied at random so clients don't reconnect in step.
    public var jitterPercent: Int

    /// A strategy; the defaults are GLIDE's: 100 ms × 2ⁿ over 5 steps, with 20 % jitter.
    public init(numberOfRetries: Int = 5, factor: Int = 100, exponentBase: Int = 2, jitterPercent: Int = 20) {
        self.numberOfRetries = numberOfRetries
        self.factor = factor
        self.exponentBase = exponentBase
        self.jitterPercent = jitterPercent
    }

    /// The delay before reconnection attempt `attempt` (from zero), before jitter.
    public func baseDelay(attempt: Int) -> Duration {
        let step = Swift.min(Swift.max(attempt, 0), numberOfRetries)
        var milliseconds = factor
        for _ in 0..<step {
            let (next, overflow) = milliseconds.multipliedReportingOverflow(by: exponentBase)
            milliseconds = overflow ? Int.max : next
        }
        return .milliseconds(milliseconds)
    }

    /// The delay before attempt `attempt`, varied by `unitRandom` (in 0...1) within the jitter.
    public func delay(attempt: Int, unitRandom: Double) -> Duration {
        let base = baseDelay(attempt: attempt)
        let spread = Double(jitterPercent) / 100 * (2 * unitRandom - 1)
        return base * (1 + spread)
    }
}
