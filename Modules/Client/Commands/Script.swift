import GlideConnection
import GlideTransport

/// A Lua script, run by its digest: `invokeScript` sends `EVALSHA`, and only when the server
/// doesn't have it (`NOSCRIPT`: a restart, a failover, `SCRIPT FLUSH`) the code itself, once.
///
/// ```swift
/// let increment = Script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
/// let total: Int = try await client.invokeScript(increment, keys: ["visits"], args: ["5"], as: Int.self)
/// ```
public struct Script: Sendable, Hashable {
    /// The Lua source.
    public let code: String
    /// Its SHA-1 digest, as the server names it (40 lowercase hex digits).
    public let sha1: String

    /// A script of `code`; its digest is computed here, once.
    public init(_ code: String) {
        self.code = code
        self.sha1 = SHA1.hex(of: code.utf8)
    }
}

extension GlideCommandExecutor {
    /// Runs `script` with `keys` and `args` and decodes its reply as `type`: `EVALSHA`, and on
    /// `NOSCRIPT` the script itself (`EVAL`, which also caches it), transparently and once. On a
    /// cluster it runs where its keys are (a random primary without keys).
    public func invokeScript<Decoded: RESPTokenDecodable, Keys: Sequence, Args: Sequence>(
        _ script: Script, keys: Keys = [String](), args: Args = [String](), as type: Decoded.Type
    ) async throws(GlideError) -> Decoded where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        let keys = Array(keys)
        let args = Array(args)
        do {
            return try await execute(EVALSHA(script.sha1, keys: keys, args: args).decoding(as: type))
        } catch  where error.serverCode == "NOSCRIPT" {
            return try await execute(EVAL(script.code, keys: keys, args: args).decoding(as: type))
        }
    }

    /// `invokeScript(_:keys:args:as:)` returning the reply as sent.
    public func invokeScript<Keys: Sequence, Args: Sequence>(_ script: Script, keys: Keys = [String](), args: Args = [String]())
        async throws(GlideError) -> RESPValue where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible
    {
        try await invokeScript(script, keys: keys, args: args, as: RESPValue.self)
    }
}
