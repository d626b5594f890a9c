import GlideConnection

extension GlideCommandExecutor {
    /// Runs a Lua script with `keys` and `args`.
    @inlinable
    public func eval<Keys: Sequence, Args: Sequence>(
        _ script: some BulkStringConvertible, keys: Keys = [String](),
        args: Args = [String]()
    ) async throws(GlideError) -> RESPValue
    where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(EVAL(script, keys: keys, args: args))
    }

    /// Runs a loaded script by its SHA1 digest; fails with `NOSCRIPT` when the server doesn't have it.
    @inlinable
    public func evalsha<Keys: Sequence, Args: Sequence>(
        _ sha1: some BulkStringConvertible, keys: Keys = [String](),
        args: Args = [String]()
    ) async throws(GlideError) -> RESPValue
    where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(EVALSHA(sha1, keys: keys, args: args))
    }

    /// Loads a script into the cache; returns its SHA1 digest.
    @inlinable
    public func scriptLoad(_ script: some BulkStringConvertible) async throws(GlideError) -> String {
        try await execute(SCRIPT.LOAD(script))
    }

    /// For each digest, whether the script is cached.
    @inlinable
    public func scriptExists<Digests: Sequence>(_ sha1s: Digests) async throws(GlideError) -> [Bool]
    where Digests.Element: BulkStringConvertible {
        try await execute(SCRIPT.EXISTS(sha1s))
    }

    /// Empties the script cache.
    @inlinable
    public func scriptFlush(_ mode: SCRIPT.FLUSH.FlushType? = nil) async throws(GlideError) {
        try await execute(SCRIPT.FLUSH(flushType: mode))
    }

    /// Loads a function library; returns the library's name.
    @inlinable @discardableResult
    public func functionLoad(_ code: some BulkStringConvertible, replace: Bool = false) async throws(GlideError) -> String {
        try await execute(FUNCTION.LOAD(replace: replace, functionCode: code))
    }

    /// Deletes a function library.
    @inlinable
    public func functionDelete(_ library: some BulkStringConvertible) async throws(GlideError) {
        try await execute(FUNCTION.DELETE(library))
    }

    /// Deletes every function library.
    @inlinable
    public func functionFlush(_ mode: FUNCTION.FLUSH.FlushType? = nil) async throws(GlideError) {
        try await execute(FUNCTION.FLUSH(flushType: mode))
    }

    /// The libraries and their functions.
    @inlinable
    public func functionList(matching pattern: BulkString? = nil, withCode: Bool = false) async throws(GlideError) -> RESPValue {
        try await execute(FUNCTION.LIST(libraryNamePattern: pattern, withcode: withCode))
    }

    /// Calls a function with `keys` and `args`.
    @inlinable
    public func fcall<Keys: Sequence, Args: Sequence>(
        _ function: some BulkStringConvertible, keys: Keys = [String](),
        args: Args = [String]()
    ) async throws(GlideError) -> RESPValue
    where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(FCALL(function, keys: keys, args: args))
    }

    /// Calls a read-only function, which may run on a replica.
    @inlinable
    public func fcallReadOnly<Keys: Sequence, Args: Sequence>(
        _ function: some BulkStringConvertible, keys: Keys = [String](),
        args: Args = [String]()
    ) async throws(GlideError) -> RESPValue
    where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(FCALL_RO(function, keys: keys, args: args))
    }

    /// Calls a function and decodes its reply as `type`.
    @inlinable
    public func fcall<Decoded: RESPTokenDecodable, Keys: Sequence, Args: Sequence>(
        _ function: some BulkStringConvertible, keys: Keys = [String](), args: Args = [String](), as type: Decoded.Type
    ) async throws(GlideError) -> Decoded where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(FCALL(function, keys: keys, args: args).decoding(as: type))
    }

    /// Calls a read-only function, which may run on a replica, and decodes its reply as `type`.
    @inlinable
    public func fcallReadOnly<Decoded: RESPTokenDecodable, Keys: Sequence, Args: Sequence>(
        _ function: some BulkStringConvertible, keys: Keys = [String](), args: Args = [String](), as type: Decoded.Type
    ) async throws(GlideError) -> Decoded where Keys.Element: BulkStringConvertible, Args.Element: BulkStringConvertible {
        try await execute(FCALL_RO(function, keys: keys, args: args).decoding(as: type))
    }

    /// Publishes `message` to `channel`; returns how many subscribers received it.
    @inlinable @discardableResult
    public func publish(_ message: some BulkStringConvertible, to channel: some BulkStringConvertible) async throws(GlideError) -> Int {
        try await execute(PUBLISH(channel, message))
    }
}
