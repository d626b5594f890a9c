import GlideConnection

/// Anything that runs typed commands: `GlideClient` now, the cluster client later.
///
/// Every everyday command has a method here, in GLIDE's naming (`hset`, `zadd`, `xadd`, …);
/// any other command runs through `execute`. Methods that return stored values decode them as
/// `String` unless asked for another type (`as: Bytes.self` for binary data).
public protocol GlideCommandExecutor: Sendable {
    /// Sends `command` and decodes its reply.
    func execute<Command: GlideCommand>(_ command: Command) async throws(GlideError) -> Command.Response
}

extension GlideClient: GlideCommandExecutor {}

extension SET.Condition {
    /// Writes only when the key already exists (`XX`).
    public static var onlyIfExists: Self { .xx }
    /// Writes only when the key does not exist (`NX`).
    public static var onlyIfDoesNotExist: Self { .nx }
    /// Writes only when the key holds exactly `value` (`IFEQ`, Valkey 8.1).
    public static func onlyIfEqual(_ value: some BulkStringConvertible) -> Self { .comparisonValue(value.bulkString) }
}

extension SET.Expiration {
    /// Keeps the time to live the key already has (`KEEPTTL`).
    public static var keepExisting: Self { .keepttl }
    /// Until a Unix time in seconds (`EXAT`).
    public static func unixSeconds(_ time: Int) -> Self { .unixTimeSeconds(time) }
    /// Until a Unix time in milliseconds (`PXAT`).
    public static func unixMilliseconds(_ time: Int) -> Self { .unixTimeMilliseconds(time) }
}
