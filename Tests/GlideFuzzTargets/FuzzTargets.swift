/// The fuzz targets: each takes arbitrary bytes, must neither crash nor hang on any of them, and
/// checks its own invariants with `precondition`, so a broken invariant is a crash libFuzzer
/// keeps. `glide-fuzz` runs them under libFuzzer (`make fuzz`); `FuzzCorpusTests` replays every
/// committed input through them in the ordinary test run, so a crash once found stays fixed.
public enum FuzzTargets {
    /// Every target by name; the corpus of each is `Tests/GlideFuzz/Corpus/<name>`.
    public static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "resp": RESPTarget.run,
        "connection": ConnectionTarget.run,
        "topology": TopologyTarget.run,
        "url": URLTarget.run,
        "cluster-request": ClusterRequestTarget.run,
        "compression": CompressionTarget.run,
    ]

    /// The names, in a stable order.
    public static var names: [String] { all.keys.sorted() }
}

/// Reads an input front to back; past its end every read gives zero, so a target never runs out.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    /// The next byte, or zero past the end.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A number below `bound` (at least 1).
    mutating func below(_ bound: Int) -> Int { Int(byte()) % Swift.max(bound, 1) }

    /// Up to `count` next bytes.
    mutating func take(_ count: Int) -> [UInt8] {
        let end = Swift.min(bytes.count, position + Swift.max(count, 0))
        defer { position = end }
        return position < end ? Array(bytes[position..<end]) : []
    }

    /// Everything left.
    mutating func rest() -> [UInt8] { take(bytes.count - position) }
}
