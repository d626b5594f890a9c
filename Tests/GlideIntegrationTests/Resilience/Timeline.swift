import Foundation
import Glide
import GlideTransport

/// The client's connection events (what it logs at `.info` and above) and the test's own marks,
/// each with when it happened: what a partition's recovery figure is made of.
final class Timeline: GlideLogger {
    let logLevel = GlideLogLevel.info
    private let entries = Lock<[(at: UInt64, what: String)]>([])

    func log(_ level: GlideLogLevel, _ message: String, metadata: [String: String]) {
        let now = DispatchTime.now().uptimeNanoseconds
        entries.withLock { $0.append((now, message)) }
    }

    /// Every entry's text, in order.
    var messages: [String] { entries.withLock { $0.map(\.what) } }

    /// Notes a step of the test.
    func mark(_ what: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        entries.withLock { $0.append((now, "— \(what)")) }
    }

    /// How long after the mark `reference` the first entry containing `text` came, among those
    /// from the mark `start` on (zero when it came before `reference`); `nil` when none did.
    func firstEntry(containing text: String, after start: String, since reference: String) -> Duration? {
        let all = entries.withLock { $0 }
        guard let from = all.firstIndex(where: { $0.what == "— \(start)" }),
            let origin = all.first(where: { $0.what == "— \(reference)" })?.at,
            let entry = all[from...].first(where: { $0.what.contains(text) })
        else { return nil }
        return .nanoseconds(Int64(entry.at) - Int64(min(origin, entry.at)))
    }

    /// Every entry from the mark `first` on, in milliseconds after it.
    func lines(from first: String) -> [String] {
        let all = entries.withLock { $0 }
        guard let start = all.first(where: { $0.what == "— \(first)" })?.at else { return [] }
        return all.filter { $0.at >= start }.map { "  \(($0.at - start) / 1_000_000) \($0.what)" }
    }
}
