import Glibc

/// A point in time on the monotonic clock, in nanoseconds: what timeouts and timers are measured in.
///
/// It is the clock `timerfd` uses (`CLOCK_MONOTONIC`), so a deadline can arm the kernel timer as is.
public struct Deadline: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary point before the process started.
    public let uptimeNanoseconds: UInt64

    /// The deadline `uptimeNanoseconds` after the monotonic clock's origin.
    @inlinable
    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    /// Now.
    public static func now() -> Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(uptimeNanoseconds: UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec))
    }

    /// A deadline that never comes.
    public static let distantFuture = Deadline(uptimeNanoseconds: .max)

    /// Orders deadlines by time.
    @inlinable
    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }

    /// The deadline `duration` later, saturating instead of overflowing.
    @inlinable
    public static func + (lhs: Deadline, rhs: Duration) -> Deadline {
        let nanoseconds = Deadline.nanoseconds(rhs)
        let (sum, overflow) = lhs.uptimeNanoseconds.addingReportingOverflow(nanoseconds)
        return Deadline(uptimeNanoseconds: overflow ? .max : sum)
    }

    /// The time from `rhs` to `lhs`, or zero when `lhs` is earlier.
    @inlinable
    public static func - (lhs: Deadline, rhs: Deadline) -> Duration {
        lhs > rhs ? .nanoseconds(Int64(clamping: lhs.uptimeNanoseconds - rhs.uptimeNanoseconds)) : .zero
    }

    /// A non-negative duration in whole nanoseconds, saturating at `UInt64.max`.
    @inlinable
    public static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflow2) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? .max : total
    }

    /// The deadline in seconds since the clock's origin.
    public var description: String { "Deadline(\(Double(uptimeNanoseconds) / 1e9)s)" }
}

extension Deadline: InstantProtocol {
    /// The deadline `duration` later (saturating); a negative duration moves it earlier, not below zero.
    @inlinable
    public func advanced(by duration: Duration) -> Deadline {
        if duration >= .zero { return self + duration }
        let back = Deadline.nanoseconds(.zero - duration)
        return Deadline(uptimeNanoseconds: uptimeNanoseconds > back ? uptimeNanoseconds - back : 0)
    }

    /// The signed time from this deadline to `other`.
    @inlinable
    public func duration(to other: Deadline) -> Duration {
        other >= self ? other - self : .zero - (self - other)
    }
}
