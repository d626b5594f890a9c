import GlideConnection
import GlideTransport

/// A client's client-side cache: the entries (`CacheState`) under one lock, the fences that
/// confirm hits per connection, and what the connections' pushes and events do to it. Both
/// clients read through it the same way (`read(_:key:through:deadline:otherwise:)`).
final class ClientSideCacheStore: Sendable {
    let configuration: ClientSideCache
    private let state: Lock<CacheState<ObjectIdentifier>>
    private let fences = Lock<[ObjectIdentifier: CacheFence]>([:])
    /// Told why, whenever entries are dropped wholesale: the client's event.
    private let flushed = Lock<(@Sendable (String) -> Void)?>(nil)

    init(_ configuration: ClientSideCache) {
        self.configuration = configuration
        state = Lock(CacheState(maximumBytes: configuration.maximumBytes, entryTTL: configuration.entryTTL))
    }

    /// Calls `report` with the reason whenever entries are dropped wholesale.
    func onFlush(_ report: @escaping @Sendable (String) -> Void) { flushed.withLock { $0 = report } }

    private func reportFlush(_ reason: String) { flushed.withLock { $0 }?(reason) }

    /// The counts so far, and what the cache holds now.
    var metrics: ClientSideCacheMetrics { state.withLock { $0.metrics } }

    // MARK: Reading

    /// The reply to `request` (a cached command reading `key`): from the cache when it holds one
    /// (confirmed first, unless `.immediate`), else from the connection `through` names, stored if
    /// no invalidation of `key` arrived meanwhile. When the read through that connection fails,
    /// or there is none, `otherwise` sends it the client's usual way (retries, redirections,
    /// errors thrown), and nothing is stored. `through` is asked on a miss only: a hit touches no
    /// connection (its reference count is shared by every caller).
    func read<Loop: EventLoop, Connector: StreamConnector>(
        _ request: RESPCommandBuffer, key: Bytes, through: () -> NodeConnection<Loop, Connector>?, deadline: Deadline,
        otherwise: () async throws(GlideError) -> RESPToken
    ) async throws(GlideError) -> RESPToken {
        let requestBytes = request.bytes
        let immediate = configuration.consistency == .immediate
        if let hit = state.withLock({ $0.lookup(requestBytes, now: .now(), counts: immediate) }) {
            if immediate { return hit.value }
            // Only an entry of the connection the PING went down is confirmed by it.
            if let fence = fences.withLock({ $0[hit.origin] }), await fence.confirm(deadline: deadline),
                let confirmed = state.withLock({ $0.lookup(requestBytes, now: .now(), origin: hit.origin) })
            {
                return confirmed.value
            }
        }
        guard let connection = through() else { return try await otherwise() }
        let key = key.withUnsafeReadableBytes { Bytes($0) }
        let ticket = state.withLock { $0.beginRead(key) }
        let origin = ObjectIdentifier(connection)
        let result = await connection.send(deadline: deadline) { $0.append(request) }
        guard case .success(let reply) = result, !reply.token.type.isError else {
            state.withLock { $0.finishRead(ticket, request: requestBytes, reply: nil, origin: origin, now: .now()) }
            return try await otherwise()
        }
        // Stored apart from the read buffer it was sliced from: a long-lived slice would keep the
        // whole 64 KiB buffer alive.
        let stored = Self.compact(reply.token)
        let storedRequest = requestBytes.withUnsafeReadableBytes { Bytes($0) }
        fenceIfNeeded(for: connection)
        state.withLock { $0.finishRead(ticket, request: storedRequest, reply: stored, origin: origin, now: .now()) }
        return reply.token
    }

    private func fenceIfNeeded<Loop: EventLoop, Connector: StreamConnector>(for connection: NodeConnection<Loop, Connector>) {
        guard configuration.consistency == .confirmed else { return }
        let origin = ObjectIdentifier(connection)
        fences.withLock { fences in
            if let existing = fences[origin], existing.isAlive() { return }
            fences[origin] = CacheFence(isAlive: { [weak connection] in connection != nil }) { [weak connection] deadline in
                guard let connection else { return false }
                let result = await connection.send(deadline: deadline) { $0.writeRESPCommand("PING" as StaticString) }
                if case .success(let reply) = result { return !reply.token.type.isError }
                return false
            }
        }
    }

    private static func compact(_ token: RESPToken) -> RESPToken? {
        try? RESPToken(validating: token.bytes.withUnsafeReadableBytes { Bytes($0) })
    }

    // MARK: What the connections say

    /// A push from `connection`: an invalidation evicts its keys; a null one (a flush, or the
    /// server dropped its tracking table) evicts everything.
    func receive(_ push: RESPToken, from connection: AnyObject) {
        switch CacheInvalidation(push) {
        case .keys(let keys):
            state.withLock { state in
                state.received(keys.count)
                for key in keys { state.invalidate(key) }
            }
        case .all:
            state.withLock { $0.invalidateAll() }
            reportFlush("the server invalidated every key (a flush, or its tracking table was reset)")
        case nil:
            break
        }
    }

    /// `connection` was lost, or a new one is ready in its place: the server no longer tracks what
    /// it read.
    func connectionChanged(_ connection: AnyObject, lost: Bool) {
        guard lost else { return }
        state.withLock { $0.connectionLost(ObjectIdentifier(connection)) }
        reportFlush("a connection was lost: the entries it read were dropped")
    }

    /// The client switched its connections to another database (`SELECT`): every entry read the
    /// old one, and no read under way is stored.
    func databaseChanged() {
        state.withLock { $0.invalidateAll() }
        reportFlush("the client selected another database")
    }

    /// `connection` is gone for good (its node left): its fence goes too.
    func retired(_ connection: AnyObject) {
        let origin = ObjectIdentifier(connection)
        state.withLock { $0.connectionLost(origin) }
        fences.withLock { $0[origin] = nil }
    }
}

/// What an invalidation push says.
enum CacheInvalidation: Equatable {
    /// These keys changed.
    case keys([Bytes])
    /// Everything changed.
    case all

    /// Reads `invalidate [keys…]` or `invalidate <null>`; `nil` for any other push.
    init?(_ push: RESPToken) {
        guard let elements = push.elements.map(Array.init), elements.count == 2,
            elements[0].stringBytes?.equalsCaseInsensitive("invalidate") == true
        else { return nil }
        if elements[1].isNull {
            self = .all
        } else if let keys = elements[1].elements {
            self = .keys(keys.compactMap(\.stringBytes))
        } else {
            return nil
        }
    }
}

/// Which requests the cache answers, read from their encoded bytes.
enum CachedCommands {
    /// The key a request of a cached command reads, when it is one: `name key …` with `name` in
    /// `ClientSideCache.cachedCommands` (`EXISTS` with one key only). `nil` for anything else,
    /// and for a request whose arguments aren't all in its buffer.
    static func key(of name: String, request: RESPCommandBuffer) -> Bytes? {
        guard ClientSideCache.cachedCommands.contains(name) else { return nil }
        let bytes = request.bytes
        return bytes.withUnsafeReadableBytes { raw -> Bytes? in
            var position = 0
            func number(after marker: UInt8) -> Int? {
                guard position < raw.count, raw[position] == marker else { return nil }
                position += 1
                var value = 0
                while position < raw.count, raw[position] != 0x0D {
                    guard (0x30...0x39).contains(raw[position]) else { return nil }
                    value = value * 10 + Int(raw[position] - 0x30)
                    position += 1
                }
                position += 2
                return position <= raw.count ? value : nil
            }
            guard let count = number(after: 0x2A), count >= 2, !(name == "EXISTS" && count != 2) else { return nil }
            var key: Bytes?
            for argument in 0..<count {
                guard let length = number(after: 0x24), position + length + 2 <= raw.count else { return nil }
                if argument == 1 { key = bytes.getSlice(at: position, length: length) }
                position += length + 2
            }
            // Every argument is in the buffer, none sent by reference.
            return position == raw.count ? key : nil
        }
    }
}
