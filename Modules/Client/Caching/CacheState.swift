import GlideTransport

/// The entries of a client-side cache, their order of use, and the reads under way, as a pure
/// struct: no lock, no clock, no connection. `ClientSideCacheStore` holds it under a lock.
///
/// An entry is a request (its encoded bytes) and the reply the server gave it, with the key it
/// read and the connection (`origin`) that read it: that connection's server tracks the key and
/// sends its invalidation there.
///
/// The race it closes: a reply read before an invalidation of its key arrives, but stored after
/// it, would stay stale forever (the server tracks a key once per read). So a read registers
/// before it is sent (`beginRead`), an invalidation of its key while it runs marks it, and a
/// marked read is not stored. A flush or a lost connection marks every read under way.
struct CacheState<Origin: Hashable> {
    /// What removing an entry needs. What a hit reads (its value, expiry and origin) and its place
    /// in the order of use are kept in arrays of their own, by slot: a hit then copies the value
    /// alone, and moving an entry to the front touches two integers per neighbour. Copying a
    /// whole entry would retain each of its buffers, under the lock every hit takes.
    struct Entry {
        var request: Bytes
        var key: Bytes
        var size: Int
    }

    /// An entry's neighbours in the order of use: `newer` towards `head`, `older` towards `tail`.
    struct Link {
        var newer = -1
        var older = -1
    }

    /// A read under way, as `beginRead` returns it.
    struct Ticket: Hashable {
        var key: Bytes
        var epoch: Int
    }

    /// Why entries left.
    enum Removal {
        case eviction, invalidation, expiration, replacement
    }

    /// What each entry costs beyond its bytes: the slot, the index entries and the token.
    static var entryOverhead: Int { 96 }

    let maximumBytes: Int
    let entryTTL: Duration?
    private(set) var metrics = ClientSideCacheMetrics(
        hits: 0, misses: 0, evictions: 0, invalidations: 0, expirations: 0, entries: 0, bytes: 0)
    private var slots: [Entry?] = []
    private var values: [RESPToken?] = []
    private var expiries: [Deadline?] = []
    private var origins: [Origin?] = []
    private var links: [Link] = []
    private var free: [Int] = []
    private var index: [Bytes: Int] = [:]
    private var byKey: [Bytes: [Int]] = [:]
    /// The most and the least recently used entries.
    private var head = -1
    private var tail = -1
    /// Reads under way, by key: how many, and whether their key was invalidated meanwhile.
    private var pending: [Bytes: (count: Int, invalidated: Bool)] = [:]
    /// Moves on at every flush and lost connection: a read that began before can't be stored.
    private var epoch = 0

    init(maximumBytes: Int, entryTTL: Duration?) {
        self.maximumBytes = maximumBytes
        self.entryTTL = entryTTL
    }

    // MARK: Reads

    /// The entry for `request`, made the most recently used, when there is one that has not
    /// expired by `now` and (when given) was read through `origin`. `counts`: whether a hit is
    /// counted (a second look after a confirmation is not).
    mutating func lookup(_ request: Bytes, now: Deadline, origin: Origin? = nil, counts: Bool = true) -> (value: RESPToken, origin: Origin)?
    {
        guard let slot = index[request], let entryOrigin = origins[slot] else { return nil }
        if let expires = expiries[slot], expires <= now {
            remove(slot, .expiration)
            return nil
        }
        if let origin, entryOrigin != origin { return nil }
        guard let value = values[slot] else { return nil }
        touch(slot)
        if counts { metrics.hits += 1 }
        return (value, entryOrigin)
    }

    /// A read of `key` goes to the server now.
    mutating func beginRead(_ key: Bytes) -> Ticket {
        metrics.misses += 1
        pending[key, default: (0, false)].count += 1
        return Ticket(key: key, epoch: epoch)
    }

    /// The read of `ticket` ended: with `reply` to `request` from `origin` it is stored unless its
    /// key was invalidated, or the cache flushed, while it ran; without one (it failed) it is
    /// only forgotten.
    mutating func finishRead(_ ticket: Ticket, request: Bytes, reply: RESPToken?, origin: Origin, now: Deadline) {
        guard let state = pending[ticket.key] else { return }
        if state.count <= 1 { pending[ticket.key] = nil } else { pending[ticket.key]!.count -= 1 }
        guard let reply, !state.invalidated, ticket.epoch == epoch else { return }
        store(request: request, key: ticket.key, value: reply, origin: origin, expires: entryTTL.map { now + $0 })
    }

    // MARK: Invalidation

    /// The server's invalidation message named `count` keys.
    mutating func received(_ count: Int) { metrics.invalidationsReceived += count }

    /// The server says `key` changed: its entries go, and reads of it under way won't be stored.
    mutating func invalidate(_ key: Bytes) {
        if pending[key] != nil { pending[key]!.invalidated = true }
        guard let held = byKey[key] else { return }
        for slot in held { remove(slot, .invalidation) }
    }

    /// Everything goes (a flush, or the server dropped its tracking table), and no read under way
    /// is stored.
    mutating func invalidateAll() {
        epoch += 1
        for slot in slots.indices where slots[slot] != nil { remove(slot, .invalidation) }
    }

    /// The connection `origin` was lost or reopened: what it read is no longer tracked. Its
    /// entries go, and no read under way is stored.
    mutating func connectionLost(_ origin: Origin) {
        epoch += 1
        for slot in origins.indices where origins[slot] == origin { remove(slot, .invalidation) }
    }

    // MARK: Storage

    private mutating func store(request: Bytes, key: Bytes, value: RESPToken, origin: Origin, expires: Deadline?) {
        let size = request.count + key.count + value.bytes.count + Self.entryOverhead
        guard size <= maximumBytes else { return }
        if let existing = index[request] { remove(existing, .replacement) }
        while metrics.bytes + size > maximumBytes, tail >= 0 { remove(tail, .eviction) }
        let entry = Entry(request: request, key: key, size: size)
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            slots[slot] = entry
            values[slot] = value
            expiries[slot] = expires
            origins[slot] = origin
        } else {
            slot = slots.count
            slots.append(entry)
            values.append(value)
            expiries.append(expires)
            origins.append(origin)
            links.append(Link())
        }
        index[request] = slot
        byKey[key, default: []].append(slot)
        link(slot)
        metrics.bytes += size
        metrics.entries += 1
    }

    private mutating func remove(_ slot: Int, _ why: Removal) {
        guard let entry = slots[slot] else { return }
        unlink(slot)
        slots[slot] = nil
        values[slot] = nil
        expiries[slot] = nil
        origins[slot] = nil
        free.append(slot)
        index[entry.request] = nil
        if var others = byKey[entry.key] {
            others.removeAll { $0 == slot }
            byKey[entry.key] = others.isEmpty ? nil : others
        }
        metrics.bytes -= entry.size
        metrics.entries -= 1
        switch why {
        case .eviction: metrics.evictions += 1
        case .invalidation: metrics.invalidations += 1
        case .expiration: metrics.expirations += 1
        case .replacement: break
        }
    }

    // MARK: Order of use

    private mutating func touch(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        link(slot)
    }

    /// Makes `slot` the most recently used.
    private mutating func link(_ slot: Int) {
        links[slot] = Link(newer: -1, older: head)
        if head >= 0 { links[head].newer = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (links[slot].newer, links[slot].older)
        if newer >= 0 { links[newer].older = older } else { head = older }
        if older >= 0 { links[older].newer = newer } else { tail = newer }
        links[slot] = Link()
    }
}
