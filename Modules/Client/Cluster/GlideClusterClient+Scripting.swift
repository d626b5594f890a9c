import GlideConnection
import GlideRouter
import GlideTransport

extension GlideClusterClient {
    /// Runs a script without keys where `route` says (`.allPrimaries` for every shard), by its
    /// digest, and each node that lacks it (`NOSCRIPT`) gets the code itself, once. Replies come
    /// back by node when `route` names several.
    public func invokeScript<Args: Sequence>(_ script: Script, args: Args = [String](), route: Route) async throws(GlideError)
        -> ClusterValue<RESPValue> where Args.Element: BulkStringConvertible
    {
        let args = Array(args)
        do {
            return try await execute(EVALSHA(script.sha1, keys: [String](), args: args), route: route)
        } catch  where error.serverCode == "NOSCRIPT" {
            // EVAL loads it where it was missing; where it was not, EVAL runs the same code.
            return try await execute(EVAL(script.code, keys: [String](), args: args), route: route)
        }
    }

    /// Calls a function without keys where `route` says.
    public func fcall<Args: Sequence>(_ function: some BulkStringConvertible, args: Args = [String](), route: Route)
        async throws(GlideError) -> ClusterValue<RESPValue> where Args.Element: BulkStringConvertible
    {
        try await execute(FCALL(function, keys: [String](), args: args), route: route)
    }

    /// Calls a read-only function without keys where `route` says.
    public func fcallReadOnly<Args: Sequence>(_ function: some BulkStringConvertible, args: Args = [String](), route: Route)
        async throws(GlideError) -> ClusterValue<RESPValue> where Args.Element: BulkStringConvertible
    {
        try await execute(FCALL_RO(function, keys: [String](), args: args), route: route)
    }

    /// Loads a function library where `route` says (without it: every primary); returns the
    /// library's name.
    @discardableResult
    public func functionLoad(_ code: some BulkStringConvertible, replace: Bool = false, route: Route)
        async throws(GlideError) -> ClusterValue<String>
    {
        try await execute(FUNCTION.LOAD(replace: replace, functionCode: code), route: route)
    }

    /// The libraries and their functions on the nodes `route` names.
    public func functionList(matching pattern: BulkString? = nil, withCode: Bool = false, route: Route)
        async throws(GlideError) -> ClusterValue<RESPValue>
    {
        try await execute(FUNCTION.LIST(libraryNamePattern: pattern, withcode: withCode), route: route)
    }

    /// Deletes a function library on the nodes `route` names.
    public func functionDelete(_ library: some BulkStringConvertible, route: Route) async throws(GlideError) {
        _ = try await execute(FUNCTION.DELETE(library), route: route)
    }

    /// Deletes every function library on the nodes `route` names.
    public func functionFlush(_ mode: FUNCTION.FLUSH.FlushType? = nil, route: Route) async throws(GlideError) {
        _ = try await execute(FUNCTION.FLUSH(flushType: mode), route: route)
    }
}
