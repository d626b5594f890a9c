/// A client-side cache: replies of read-only single-key commands kept in the client's memory and
/// served from there until the server says the key changed.
///
/// The client turns on `CLIENT TRACKING` on every connection. The server then remembers which
/// keys each connection read, and when one of them changes it pushes an invalidation on that
/// connection, which evicts the key. Which commands are cached is a table,
/// `ClientSideCache.cachedCommands`.
///
/// ```swift
/// var configuration = GlideClientConfiguration()
/// configuration.clientSideCache = ClientSideCache(maximumBytes: 64 << 20, entryTTL: .seconds(60))
/// ```
///
/// RESP3 only: the invalidations are pushes on the connection that read the key. A RESP2
/// configuration is a `.configuration` error.
public struct ClientSideCache: Sendable, Hashable {
    /// Which entry goes when the cache is full.
    public enum Eviction: Sendable, Hashable {
        /// The least recently used.
        case lru
    }

    /// What a cached reply may promise.
    public enum Consistency: Sendable, Hashable {
        /// A hit is answered once a `PING` on the connection that read the key has come back.
        /// Invalidations arrive in order on that connection, so the hit is never older than a
        /// write acknowledged before the read began, even a write by another client. Every hit
        /// waiting at one moment shares one `PING`, so the server does a fraction of the work of
        /// the reads it replaces, but a hit takes about one round trip.
        case confirmed
        /// A hit is answered at once, from memory. A write by another client can be missed for as
        /// long as its invalidation takes to arrive (usually well under a millisecond on a LAN).
        case immediate
    }

    /// How the server tells the client which keys changed.
    public enum Tracking: Sendable, Hashable {
        /// The server remembers the keys each connection read and invalidates those when they
        /// change: the least invalidation traffic, at the cost of the server's memory for the
        /// keys read (its `tracking-table-max-keys`).
        case keysRead
        /// `BCAST`: the server invalidates every key that starts with one of `prefixes` (every key
        /// when there are none) to every such connection, read or not, and remembers no keys per
        /// connection. Only keys under the prefixes are cached; others go to the server every
        /// time. Prefixes may not overlap (one may not start with another).
        case broadcast(prefixes: [String])
    }

    /// The most bytes the entries may take: keys, requests and replies, plus a fixed overhead
    /// per entry. Entries are evicted to stay under it.
    public var maximumBytes: Int
    /// How long an entry may be served, whatever the server says; `nil`: until it is
    /// invalidated or evicted.
    public var entryTTL: Duration?
    /// Which entry goes when the cache is full.
    public var eviction: Eviction
    /// What a hit may promise: `.confirmed` (the default) or `.immediate`.
    public var consistency: Consistency
    /// How the server reports changed keys: `.keysRead` (the default) or `.broadcast(prefixes:)`.
    public var tracking: Tracking = .keysRead

    /// A cache of at most `maximumBytes`, entries served for at most `entryTTL`.
    public init(maximumBytes: Int, entryTTL: Duration? = nil, eviction: Eviction = .lru, consistency: Consistency = .confirmed) {
        self.maximumBytes = maximumBytes
        self.entryTTL = entryTTL
        self.eviction = eviction
        self.consistency = consistency
    }

    /// The broadcast prefixes the handshake declares; `nil` in the default mode.
    var broadcastPrefixes: [String]? {
        if case .broadcast(let prefixes) = tracking { prefixes } else { nil }
    }

    /// Whether entries for `key` may be kept: under broadcast, only keys under a prefix are
    /// ever invalidated.
    func caches(_ key: Bytes) -> Bool {
        guard case .broadcast(let prefixes) = tracking, !prefixes.isEmpty else { return true }
        return key.withUnsafeReadableBytes { key in
            prefixes.contains { prefix in
                let prefix = prefix.utf8
                return key.count >= prefix.count && zip(key, prefix).allSatisfy { $0 == $1 }
            }
        }
    }

    /// What is wrong with the broadcast prefixes, if anything: the server refuses overlapping ones.
    var trackingProblem: String? {
        guard let prefixes = broadcastPrefixes else { return nil }
        for (index, prefix) in prefixes.enumerated() {
            for other in prefixes[(index + 1)...] where prefix.utf8.starts(with: other.utf8) || other.utf8.starts(with: prefix.utf8) {
                return "clientSideCache broadcast prefixes \"\(prefix)\" and \"\(other)\" overlap: the server refuses that"
            }
        }
        return nil
    }

    /// The commands whose replies are cached: read-only, one key, at argument 1. Anything else
    /// goes to the server as usual.
    public static let cachedCommands: Set<String> = [
        "GET", "GETRANGE", "STRLEN", "EXISTS", "TYPE",
        "HGET", "HGETALL", "HMGET", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN",
        "LRANGE", "LINDEX", "LLEN",
        "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD",
        "ZRANGE", "ZSCORE", "ZMSCORE", "ZCARD", "ZRANK", "ZREVRANK", "ZCOUNT",
        "GETBIT", "BITCOUNT", "BITPOS",
    ]
}

/// What a client-side cache did so far, and holds now.
public struct ClientSideCacheMetrics: Sendable, Hashable {
    /// Reads answered from the cache.
    public internal(set) var hits: Int
    /// Reads of cached commands that went to the server.
    public internal(set) var misses: Int
    /// Entries removed to stay under `maximumBytes`.
    public internal(set) var evictions: Int
    /// Entries removed because the server said their key changed, or its connection was lost.
    public internal(set) var invalidations: Int
    /// Entries removed because `entryTTL` passed.
    public internal(set) var expirations: Int
    /// Entries held now.
    public internal(set) var entries: Int
    /// Bytes the entries take now, as `maximumBytes` counts them.
    public internal(set) var bytes: Int
    /// Keys the server's invalidation messages named, whether or not the cache held them: the
    /// invalidation traffic, which broadcast tracking raises.
    public internal(set) var invalidationsReceived = 0
}

extension GlideClient {
    /// What the client-side cache did and holds; `nil` without one.
    public var clientSideCacheMetrics: ClientSideCacheMetrics? { core.cache?.metrics }
}

extension GlideClusterClient {
    /// What the client-side cache did and holds; `nil` without one.
    public var clientSideCacheMetrics: ClientSideCacheMetrics? { engine.core.cache?.metrics }
}
