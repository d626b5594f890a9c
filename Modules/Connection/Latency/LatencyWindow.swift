import GlideTransport

/// How fast one node has been answering: quantiles of the round trips of the requests sampled on
/// its connection over the last minute or so (between one and two of `LatencyWindow.span`).
///
/// A round trip runs from the moment the request was queued to the moment its reply was read, so
/// it is what a caller waits, queueing on the connection included. Quantiles are upper bounds of
/// their histogram buckets: within 12.5% above the true value.
public struct NodeLatency: Sendable, Hashable, CustomStringConvertible {
    /// How many replies were sampled.
    public let samples: Int
    /// The median round trip.
    public let p50: Duration
    /// The 90th percentile.
    public let p90: Duration
    /// The 99th percentile.
    public let p99: Duration
    /// The 99.9th percentile.
    public let p999: Duration
    /// The slowest sampled round trip.
    public let maximum: Duration

    /// A request timeout that covers this pace with room: three times the 99.9th percentile,
    /// at least 10 ms, rounded up to the next 1, 2 or 5 step.
    public var suggestedTimeout: Duration {
        let wanted = max(p999 * 3, .milliseconds(10))
        var step = Duration.milliseconds(1)
        while true {
            for multiple in [1, 2, 5] where step * multiple >= wanted { return step * multiple }
            step *= 10
        }
    }

    /// `p50 0.2 ms, p99 1.1 ms, p99.9 3.0 ms, max 4.1 ms over 4120 sampled replies`.
    public var description: String {
        "p50 \(Self.text(p50)), p99 \(Self.text(p99)), p99.9 \(Self.text(p999)), max \(Self.text(maximum)) over \(samples) sampled "
            + (samples == 1 ? "reply" : "replies")
    }

    /// Milliseconds with up to two significant decimals below 10 ms.
    static func text(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        if micros >= 10_000 { return "\(micros / 1000) ms" }
        let hundredths = (micros + 5) / 10
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) ms"
    }

    /// A latency of the given figures.
    public init(samples: Int, p50: Duration, p90: Duration, p99: Duration, p999: Duration, maximum: Duration) {
        self.samples = samples
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.maximum = maximum
    }
}

/// A connection's round trips over a sliding minute, as two log-linear histograms of `span`
/// each: the current one and the one before. A pure value: the connection's state machine holds
/// it and gives it the times.
///
/// Buckets are 1,024 ns wide below 16 of them, then eight per power of two, so recording is a
/// shift, a leading-zero count and an increment.
package struct LatencyWindow {
    /// How long each histogram covers; quantiles come from the current one and the one before.
    package static let span: Duration = .seconds(30)
    /// Buckets: 16 linear, then 8 for each power of two up to 2⁴⁰ units (about 13 days).
    static let bucketCount = 16 + 36 * 8

    private var current: [UInt32]
    private var previous: [UInt32]
    private var currentSamples = 0
    private var previousSamples = 0
    private var currentMaximum: UInt64 = 0
    private var previousMaximum: UInt64 = 0
    /// When the current histogram began; `nil` before the first sample.
    private var currentStart: Deadline?

    package init() {
        current = []
        previous = []
    }

    /// Records a round trip from `queued` to `now`, both on the loop's clock.
    package mutating func record(queued: Deadline, now: Deadline) {
        guard now > queued else { return }
        rotate(now: now)
        let nanoseconds = now.uptimeNanoseconds - queued.uptimeNanoseconds
        // Histograms are allocated with the first sample: an idle connection holds none.
        if current.isEmpty { current = Array(repeating: 0, count: Self.bucketCount) }
        current[Self.bucket(of: nanoseconds)] &+= 1
        currentSamples += 1
        currentMaximum = max(currentMaximum, nanoseconds)
    }

    /// The quantiles of the samples of the last one or two spans at `now`; `nil` when there are none.
    package func latency(at now: Deadline) -> NodeLatency? {
        var window = self
        window.rotate(now: now)
        let samples = window.currentSamples + window.previousSamples
        guard samples > 0 else { return nil }
        func quantile(_ q: Double) -> Duration {
            let rank = max(1, Int((Double(samples) * q).rounded(.up)))
            var seen = 0
            for index in 0..<Self.bucketCount {
                seen += Int(window.current.isEmpty ? 0 : window.current[index])
                seen += Int(window.previous.isEmpty ? 0 : window.previous[index])
                if seen >= rank { return .nanoseconds(Self.upperBound(of: index)) }
            }
            return .nanoseconds(max(window.currentMaximum, window.previousMaximum))
        }
        let maximum = Duration.nanoseconds(max(window.currentMaximum, window.previousMaximum))
        return NodeLatency(
            samples: samples, p50: min(quantile(0.5), maximum), p90: min(quantile(0.9), maximum),
            p99: min(quantile(0.99), maximum), p999: min(quantile(0.999), maximum), maximum: maximum)
    }

    /// Starts a new span once the current one is over: the current histogram becomes the previous
    /// one, or, after a gap longer than a span, both are emptied.
    private mutating func rotate(now: Deadline) {
        guard let start = currentStart else {
            currentStart = now
            return
        }
        guard now >= start + Self.span else { return }
        if now >= start + Self.span * 2 {
            previous.removeAll(keepingCapacity: true)
            previousSamples = 0
            previousMaximum = 0
        } else {
            swap(&previous, &current)
            previousSamples = currentSamples
            previousMaximum = currentMaximum
        }
        if !current.isEmpty {
            for index in current.indices { current[index] = 0 }
        }
        currentSamples = 0
        currentMaximum = 0
        currentStart = now
    }

    /// The bucket of a round trip of `nanoseconds`.
    static func bucket(of nanoseconds: UInt64) -> Int {
        let units = nanoseconds >> 10
        guard units >= 16 else { return Int(units) }
        let exponent = 63 - units.leadingZeroBitCount
        guard exponent < 40 else { return bucketCount - 1 }
        let sub = Int((units >> UInt64(exponent - 3)) & 7)
        return 16 + (exponent - 4) * 8 + sub
    }

    /// The largest round trip, in nanoseconds, that falls in bucket `index`.
    static func upperBound(of index: Int) -> UInt64 {
        guard index >= 16 else { return UInt64(index + 1) << 10 - 1 }
        let exponent = (index - 16) / 8 + 4
        let sub = UInt64((index - 16) % 8)
        return ((9 + sub) << UInt64(exponent - 3)) << 10 - 1
    }
}
