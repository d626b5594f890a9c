import GlideBuffers
import GlideRESPCodec

/// The decoder, RESP2 and RESP3, with the input split into arbitrary reads: decoding in pieces
/// must find exactly the frames (or the error) that decoding the whole input at once finds, and
/// every frame must convert to a value. Tight limits make the caps reachable.
enum RESPTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let seed = input.byte()
        let stream = input.rest()
        let whole = decodeAll(stream, splits: nil)
        let pieces = decodeAll(stream, splits: seed)
        precondition(whole.frames == pieces.frames, "split reads found other frames than one read")
        precondition(whole.failed == pieces.failed, "split reads and one read disagree on an error")
    }

    /// The frames (as bytes) decoded from `stream`, in reads whose sizes come from `splits` (or
    /// one read), and whether decoding stopped at an error.
    static func decodeAll(_ stream: [UInt8], splits: UInt8?) -> (frames: [[UInt8]], failed: Bool) {
        var decoder = RESPDecoder(
            maximumDepth: 16, maximumBulkLength: 1 << 16, maximumAggregateLength: 1 << 12, maximumFrameLength: 1 << 10)
        var buffer = Bytes()
        var frames: [[UInt8]] = []
        var offset = 0
        var state = UInt32(splits ?? 0) &* 2_654_435_761 | 1
        while offset < stream.count {
            var size = stream.count - offset
            if splits != nil {
                state ^= state << 13
                state ^= state >> 17
                state ^= state << 5
                size = Swift.min(size, Int(state % 7) + 1)
            }
            buffer.writeBytes(stream[offset..<offset + size])
            offset += size
            do throws(RESPDecodeError) {
                while let token = try decoder.decode(from: &buffer) {
                    let bytes = token.bytes.withUnsafeReadableBytes { Array($0) }
                    precondition(!bytes.isEmpty, "an empty frame")
                    precondition(bytes.count <= decoder.maximumFrameLength, "a frame over the frame limit")
                    _ = RESPValue(token)
                    _ = (token.errorCode, token.doubleValue, token.attributes?.count, token.elements.map(Array.init)?.count)
                    frames.append(bytes)
                }
            } catch {
                return (frames, true)
            }
        }
        return (frames, false)
    }
}
