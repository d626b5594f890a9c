import Foundation

// What a run reports: its rate, latency percentiles, CPU, memory and context switches.

/// The process's peak resident memory so far in MiB (`VmHWM` in /proc/self/status).
func peakResidentMebibytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return (Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) / 1024
}

/// The process's resident memory in MiB, from /proc/self/statm.
func residentMebibytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Double(fields[1]) ?? 0) * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576 : 0
}

func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let index = min(sorted.count - 1, Int(Double(sorted.count) * fraction))
    return Double(sorted[index]) / 1e6
}

func report(_ name: String, _ measurement: Measurement, options: Options) {
    let rate = Double(measurement.commands) / measurement.seconds
    let p50 = percentile(measurement.latencies, 0.50)
    let p99 = percentile(measurement.latencies, 0.99)
    let p999 = percentile(measurement.latencies, 0.999)
    let maximum = Double(measurement.latencies.last ?? 0) / 1e6
    let cpuPer100k = measurement.cpu / Double(measurement.commands) * 100_000
    let megabytes = rate * Double(options.dataSize) / 1_048_576
    if options.csv {
        print(
            "\"\(name)\",\"\(String(format: "%.2f", rate))\",\"\(String(format: "%.3f", p50))\",\"\(String(format: "%.3f", p99))\",\"\(String(format: "%.3f", cpuPer100k))\","
                + "\"\(String(format: "%.3f", p999))\",\"\(String(format: "%.3f", maximum))\",\"\(String(format: "%.1f", peakResidentMebibytes()))\",\"\(String(format: "%.1f", measurement.switchesPer100))\""
                + (measurement.cacheHitPercent.map { ",\"\(String(format: "%.1f", $0))\"" } ?? "")
        )
    } else {
        var line =
            "\(name): \(String(format: "%.2f", rate)) requests per second, p50=\(String(format: "%.3f", p50)) msec, p99=\(String(format: "%.3f", p99)) msec, p99.9=\(String(format: "%.3f", p999)) msec, max=\(String(format: "%.3f", maximum)) msec, cpu=\(String(format: "%.3f", cpuPer100k)) s/100k, peak RSS=\(String(format: "%.1f", peakResidentMebibytes())) MiB, \(String(format: "%.1f", measurement.switchesPer100)) context switches per 100"
        if options.dataSize >= 1024 { line += ", \(String(format: "%.1f", megabytes)) MB/s" }
        if let hits = measurement.cacheHitPercent { line += ", \(String(format: "%.1f", hits)) % cache hits" }
        print(line)
    }
}
