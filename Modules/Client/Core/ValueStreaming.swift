import GlideConnection
import GlideTopology
import GlideTransport

/// A string value read in chunks, from `readValue(of:chunkSize:_:)`: each `next()` asks the
/// server for the next chunk (`GETRANGE`), so the client holds one chunk at a time however large
/// the value is, and a slow consumer holds up nobody: the chunks come on a pooled connection of
/// their own, one request each.
///
/// The value is watched (`WATCH`) before its length is read. After the last chunk, an empty
/// transaction on the same connection says whether it changed meanwhile: if it did, the last
/// `next()` throws `.valueChanged`, as the chunks handed over may mix two versions.
public struct ValueChunks: AsyncSequence, Sendable {
    /// A chunk of the value's bytes.
    public typealias Element = Bytes
    /// What reading a chunk may throw.
    public typealias Failure = GlideError

    /// Whether the key held a value when the read began; `false` also yields no chunks.
    public let exists: Bool
    /// The value's length in bytes when the read began.
    public let length: Int
    /// The most bytes one chunk holds.
    public let chunkSize: Int
    let key: String
    let connection: DedicatedConnection

    /// Reads the chunks in order.
    public func makeAsyncIterator() -> Iterator { Iterator(chunks: self) }

    /// Reads the chunks in order, one request each.
    public struct Iterator: AsyncIteratorProtocol {
        let chunks: ValueChunks
        var offset = 0
        var checked = false

        /// The next chunk; `nil` after the last, once the value is known not to have changed.
        public mutating func next() async throws(GlideError) -> Bytes? {
            if offset < chunks.length {
                let end = offset + Swift.min(chunks.chunkSize, chunks.length - offset) - 1
                let chunk = try await chunks.connection.execute(GETRANGE(chunks.key, start: offset, end: end))
                // A value cut short meanwhile gives short chunks, then none: the check says so.
                guard chunk.readableBytes > 0 else {
                    offset = chunks.length
                    return try await next()
                }
                offset += chunk.readableBytes
                return chunk
            }
            guard !checked else { return nil }
            checked = true
            var check = Batch(isAtomic: true)
            check.add(STRLEN(chunks.key))
            guard try await chunks.connection.exec(check) != nil else {
                throw GlideError(.valueChanged, "\(chunks.key) changed while it was read in chunks: they may mix two versions")
            }
            return nil
        }
    }
}

/// Streaming large values over a dedicated connection, for both clients.
enum ValueStreaming {
    /// How long an upload's temporary key lives after its last chunk, should the upload stop
    /// without cleaning up (the process died).
    static let uploadLifetime = 600_000

    /// `readValue`'s work on `connection`.
    static func read<Result>(
        _ key: String, chunkSize: Int, on connection: DedicatedConnection, _ body: (ValueChunks) async throws -> Result
    ) async throws -> Result {
        guard chunkSize > 0 else { throw GlideError(.configuration, "chunkSize must be positive") }
        try await connection.execute(WATCH([key]))
        var probe = Batch(isAtomic: false)
        let exists = probe.add(EXISTS([key]))
        let length = probe.add(STRLEN(key))
        guard let results = try await connection.exec(probe) else {
            throw GlideError(.protocolError, "EXISTS and STRLEN of \(key) got no replies")
        }
        return try await body(
            ValueChunks(
                exists: try results[exists] > 0, length: try results[length], chunkSize: chunkSize, key: key, connection: connection))
    }

    /// `writeValue`'s work on `connection`: the chunks go to a temporary key in the same slot,
    /// which replaces `key` in one step at the end, so no reader ever sees part of the value.
    /// `cleanUp` deletes the temporary key through the client's shared connection after a
    /// failure (the dedicated connection refuses requests of a cancelled task).
    static func write<Chunks: AsyncSequence>(
        _ key: String, from chunks: Chunks, on connection: DedicatedConnection,
        cleanUp: @escaping @Sendable (String) async throws -> Void
    ) async throws -> Int where Chunks.Element == Bytes {
        let temporary = uploadKey(for: key)
        var written = 0
        do {
            _ = try await connection.execute(DEL([temporary]))
            for try await chunk in chunks where chunk.readableBytes > 0 {
                // Each chunk renews the temporary key's lifetime in the same round trip.
                var append = Batch(isAtomic: false)
                let length = append.add(APPEND(temporary, chunk))
                append.add(PEXPIRE(temporary, milliseconds: uploadLifetime))
                guard let results = try await connection.exec(append) else {
                    throw GlideError(.protocolError, "APPEND to \(temporary) got no reply")
                }
                written += chunk.readableBytes
                // An upload that expired or was evicted between chunks would start again from
                // the later ones: never committed.
                let stored = try results[length]
                guard stored == written else {
                    throw GlideError(
                        .valueChanged, "the upload of \(key) holds \(stored) bytes where \(written) were sent: it expired or was evicted")
                }
            }
            var commit = Batch(isAtomic: true)
            if written == 0 {
                commit.add(SET(key, ""))
            } else {
                commit.add(RENAME(temporary, key))
                commit.add(PERSIST(key))
            }
            _ = try await connection.exec(commit)
            return written
        } catch {
            // In a task of its own: a cancelled task's own requests fail before they are sent.
            await Task { _ = try? await cleanUp(temporary) }.value
            throw error
        }
    }

    /// A key in `key`'s slot for its upload, unique to it: under `key`'s own hash tag, or `key`
    /// itself as one (or, for a key hashed whole that holds a `}`, a number of the same slot).
    static func uploadKey(for key: String) -> String {
        let tag: Substring
        if let open = key.firstIndex(of: "{"), let close = key[key.index(after: open)...].firstIndex(of: "}"),
            close > key.index(after: open)
        {
            tag = key[key.index(after: open)..<close]
        } else {
            tag = Substring(key)
        }
        let suffix = ":glide-upload:\(UInt64.random(in: 0...UInt64.max))"
        guard tag.contains("}") else { return "{\(tag)}\(suffix)" }
        // A key hashed whole that holds a `}` can't be a tag: a short tag of the same slot is.
        let slot = HashSlot.of(key)
        var number = 0
        while HashSlot.of("{\(number)}") != slot { number += 1 }
        return "{\(number)}\(suffix)"
    }
}

extension GlideClient {
    /// Reads the string at `key` in chunks of at most `chunkSize` bytes (1 MiB) and hands them to
    /// `body` as a `ValueChunks` sequence, on a pooled connection to the primary: the client
    /// never holds more than a chunk of it. A value changed while it is read makes the last
    /// `next()` throw `.valueChanged`. Each chunk is one request under the request timeout.
    public func readValue<Result>(
        of key: String, chunkSize: Int = 1 << 20, _ body: (ValueChunks) async throws -> Result
    ) async throws -> Result {
        try await withDedicatedConnection { try await ValueStreaming.read(key, chunkSize: chunkSize, on: $0, body) }
    }

    /// Sets `key` to the bytes of `chunks`, concatenated, without holding more than a chunk: they
    /// are appended to a temporary key in the same slot, which replaces `key` in one step once
    /// the sequence ends (as `SET` would: no expiry). If the sequence throws or the task is
    /// cancelled, `key` is untouched and the temporary key is deleted. Returns the bytes written.
    @discardableResult
    public func writeValue<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> Int
    where Chunks.Element == Bytes {
        try await withDedicatedConnection {
            try await ValueStreaming.write(key, from: chunks, on: $0) { [self] in _ = try await del([$0]) }
        }
    }
}

extension GlideClusterClient {
    /// `GlideClient.readValue(of:chunkSize:_:)`, on a pooled connection to the primary of `key`'s
    /// slot. The slot moving meanwhile fails the next chunk with `MOVED`.
    public func readValue<Result>(
        of key: String, chunkSize: Int = 1 << 20, _ body: (ValueChunks) async throws -> Result
    ) async throws -> Result {
        try await withDedicatedConnection(forKey: key) { try await ValueStreaming.read(key, chunkSize: chunkSize, on: $0, body) }
    }

    /// `GlideClient.writeValue(_:from:)`, on a pooled connection to the primary of `key`'s slot.
    @discardableResult
    public func writeValue<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> Int
    where Chunks.Element == Bytes {
        try await withDedicatedConnection(forKey: key) {
            try await ValueStreaming.write(key, from: chunks, on: $0) { [self] in _ = try await del([$0]) }
        }
    }
}
