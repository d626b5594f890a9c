import GlideCompression
import GlideConnection
import GlideTransport

/// Which commands' values the client compresses and decompresses (`compression` in the
/// configuration), as GLIDE does: the values `SET`-like commands write, and the values `GET`-like
/// commands read. Applied where a request enters the client, so typed commands, custom commands
/// and both clients share it. Other commands pass untouched: `APPEND`, `GETRANGE`, `STRLEN`,
/// `INCR` and the rest work on the bytes as stored.
extension ValueCompressor {
    /// The argument positions (counting the command's name as 0) of the values `name` writes.
    static func writtenValues(_ name: String, count: Int) -> StrideTo<Int>? {
        switch name {
        case "SET", "SETNX", "GETSET": stride(from: 2, to: min(count, 3), by: 1)
        case "SETEX", "PSETEX": stride(from: 3, to: min(count, 4), by: 1)
        case "MSET", "MSETNX": stride(from: 2, to: count, by: 2)
        default: nil
        }
    }

    /// Whether `name`'s reply holds values to decompress: one (`GET`, …, `SET … GET`), or an
    /// array of them (`MGET`).
    static func readsValues(_ name: String) -> Bool {
        switch name {
        case "GET", "GETEX", "GETDEL", "GETSET", "SET", "MGET": true
        default: false
        }
    }

    /// The arguments with the values `name` writes compressed; `nil` when nothing changed.
    func compressing(_ name: String, _ arguments: [Bytes]) -> [Bytes]? {
        guard let positions = Self.writtenValues(name, count: arguments.count) else { return nil }
        var changed = arguments
        var any = false
        for position in positions {
            guard let compressed = compress(arguments[position]) else { continue }
            changed[position] = compressed
            any = true
        }
        return any ? changed : nil
    }

    /// The request `encode` writes, with the values `name` writes compressed; `nil` when nothing
    /// changed (not a writing command, values too small, or not made smaller).
    func compressedRequest(_ name: String, _ encode: (inout RESPCommandBuffer) -> Void) -> RESPCommandBuffer? {
        guard Self.writtenValues(name, count: .max) != nil else { return nil }
        var buffer = RESPCommandBuffer()
        encode(&buffer)
        guard let token = try? RESPToken(validating: buffer.contiguousBytes), let elements = token.elements else { return nil }
        let arguments = elements.compactMap(\.stringBytes)
        guard arguments.count == elements.count, let compressed = compressing(name, arguments) else { return nil }
        var request = RESPCommandBuffer()
        request.writeRESPCommand(compressed)
        return request
    }

    /// `token`, `name`'s reply, with the values it holds decompressed.
    func decompressedReply(_ name: String, _ token: RESPToken) throws(GlideError) -> RESPToken {
        guard Self.readsValues(name) else { return token }
        if token.type == .array, let elements = token.elements {
            var changed: [RESPToken]?
            for (index, element) in elements.enumerated() {
                guard let value = try decompressed(element) else { continue }
                if changed == nil { changed = Array(elements) }
                changed![index] = value
            }
            guard let changed else { return token }
            var bytes = Bytes(capacity: changed.reduce(16) { $0 + $1.bytes.count })
            bytes.writeByte(UInt8(ascii: "*"))
            bytes.writeDecimal(changed.count)
            bytes.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
            for element in changed { bytes.writeBytes(element.bytes) }
            return try Self.token(bytes)
        }
        return try decompressed(token) ?? token
    }

    /// A bulk-string token's value decompressed, as a bulk-string token; `nil` when it is not a
    /// compressed value.
    private func decompressed(_ token: RESPToken) throws(GlideError) -> RESPToken? {
        guard token.type == .bulkString, let value = token.stringBytes, Self.hasHeader(value) else { return nil }
        let plain: Bytes?
        do {
            plain = try decompress(value)
        } catch {
            throw GlideError(.protocolError, "\(error)")
        }
        guard let plain else { return nil }
        var bytes = Bytes(capacity: plain.count + 24)
        bytes.writeByte(UInt8(ascii: "$"))
        bytes.writeDecimal(plain.count)
        bytes.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        bytes.writeBytes(plain)
        bytes.writeBytes(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        return try Self.token(bytes)
    }

    private static func token(_ bytes: Bytes) throws(GlideError) -> RESPToken {
        do {
            return try RESPToken(validating: bytes)
        } catch {
            throw GlideError(.protocolError, "a decompressed reply could not be encoded: \(error)")
        }
    }
}

extension ValueCompressor {
    /// A reply as a value tree (`customCommand`), with the values it holds decompressed: a bulk
    /// string, or an array of them.
    func decompressedValue(_ value: RESPValue) throws(GlideError) -> RESPValue {
        switch value {
        case .bulkString(let bytes):
            do {
                return try decompress(bytes).map(RESPValue.bulkString) ?? value
            } catch {
                throw GlideError(.protocolError, "\(error)")
            }
        case .array(let elements):
            var changed = elements
            for index in changed.indices { changed[index] = try decompressedValue(elements[index]) }
            return .array(changed)
        default:
            return value
        }
    }
}

extension ClusterValue where Value == RESPValue {
    /// This reply of `name`, its values decompressed when `name` reads values.
    func decompressed(_ name: String, by compressor: ValueCompressor) throws(GlideError) -> ClusterValue {
        guard ValueCompressor.readsValues(name) else { return self }
        switch self {
        case .single(let value):
            return .single(try compressor.decompressedValue(value))
        case .perNode(let values):
            var changed: [NodeAddress: RESPValue] = [:]
            for (node, value) in values { changed[node] = try compressor.decompressedValue(value) }
            return .perNode(changed)
        }
    }
}
