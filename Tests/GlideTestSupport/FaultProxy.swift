import CGlideSystem
import Foundation
public import GlideTransport

/// A TCP proxy in front of a server, for network faults on loopback: it passes bytes both ways,
/// and on the test's word holds them (a black hole), delays them (latency with jitter), limits
/// their rate (a slow link), or resets every connection through it.
///
/// A black hole holds what it reads instead of dropping it, as a partitioned network does to TCP:
/// the segments are retransmitted and arrive once it heals, unless an end gave up meanwhile. New
/// connections are accepted but nothing reaches the server, so their handshakes hang, as a SYN
/// into a black hole would.
///
/// Each direction of each connection is a thread of its own with blocking sockets; descriptors
/// are closed only under the lock and only while this proxy owns them.
public final class FaultProxy: @unchecked Sendable {
    /// What the proxy does to the bytes.
    public enum Mode: Sendable, Equatable {
        /// Passes them on at once.
        case pass
        /// Holds them until the mode changes.
        case blackhole
        /// Passes each read after `delay`, give or take up to `jitter`.
        case latency(Duration, jitter: Duration)
        /// Passes at most `bytesPerSecond` in each direction of each connection.
        case bandwidth(bytesPerSecond: Int)
    }

    private let upstreamPort: Int
    private let listener: Int32
    /// The port clients connect to.
    public let port: Int
    private let lock = NSLock()
    private var mode = Mode.pass
    private var stopped = false
    /// Every open descriptor (client and server sides), by connection.
    private var open: [Int32] = []
    /// Descriptors being reset: closed with `SO_LINGER` 0 (an RST) and never shut down first (a FIN).
    private var resetting: Set<Int32> = []
    private var accepted = 0
    /// Whether its listening socket is open.
    private var listening = true

    /// Where clients connect.
    public var address: NodeAddress { NodeAddress(host: "127.0.0.1", port: port) }

    /// A proxy to `127.0.0.1:upstreamPort`, passing bytes.
    public init(upstreamPort: Int) {
        self.upstreamPort = upstreamPort
        (listener, port) = FreePort.listen(backlog: 64)
        spawn { [self] in acceptLoop() }
    }

    /// The name of every thread of the proxy's, which a soak sampling the test process leaves out
    /// of its count.
    public static let threadName = "fault-proxy"

    /// The descriptors of the test process that are the proxy's, not the client's: a soak that
    /// samples the process counts them apart.
    public var descriptorCount: Int {
        lock.withLock { open.count + (listening ? 1 : 0) }
    }

    /// Runs `body` on a thread of its own, named `threadName` (a thread created by a named one
    /// carries its creator's name until it names itself, so only the first can show another).
    private func spawn(_ body: @escaping @Sendable () -> Void) {
        Thread {
            CGlideSystem_setThreadName(Self.threadName)
            body()
        }.start()
    }

    /// How many connections it accepted.
    public var connectionCount: Int { lock.withLock { accepted } }

    /// Sets what happens to bytes from now on (bytes held by a black hole go on under the new mode).
    public func set(_ mode: Mode) {
        lock.withLock { self.mode = mode }
    }

    /// Resets every connection now open through the proxy (`SO_LINGER` 0: an RST, no FIN) on
    /// both sides; later connections pass as the mode says.
    public func resetAll() {
        lock.withLock {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            for descriptor in open {
                setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                resetting.insert(descriptor)
                // Wakes this proxy's reader of it without sending anything; closing it sends the RST.
                shutdown(descriptor, Int32(SHUT_RD))
            }
        }
    }

    /// Stops accepting and ends every connection. Safe to call more than once.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            for descriptor in open { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                lock.withLock {
                    _ = close(listener)
                    listening = false
                }
                return
            }
            let registered = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                accepted += 1
                open.append(client)
                return true
            }
            guard registered else {
                close(client)
                continue
            }
            spawn { [self] in connect(client) }
        }
    }

    /// Opens the server side once a black hole lets it through, then forwards both ways.
    private func connect(_ client: Int32) {
        waitWhileBlackholed()
        let server = FreePort.connectLoopback(port: upstreamPort)
        let registered = lock.withLock { () -> Bool in
            guard server >= 0, !stopped, open.contains(client) else { return false }
            open.append(server)
            return true
        }
        guard registered else {
            if server >= 0 { close(server) }
            release(client)
            return
        }
        let done = DispatchGroup()
        for (from, to) in [(client, server), (server, client)] {
            done.enter()
            spawn { [self] in
                forward(from: from, to: to)
                done.leave()
            }
        }
        done.wait()
        release(client)
        release(server)
    }

    /// Copies `from` to `to` as the mode says, until either side ends; then ends both.
    private func forward(from: Int32, to: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(from, &chunk, chunk.count)
            guard count > 0 else { break }
            waitWhileBlackholed()
            if case .latency(let delay, let jitter) = lock.withLock({ mode }) {
                let spread = jitter.components.attoseconds / 1_000_000_000_000 + jitter.components.seconds * 1_000_000
                let offset = spread > 0 ? Int64.random(in: -spread...spread) : 0
                let micros = max(0, delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000 + offset)
                usleep(UInt32(micros))
            }
            var written = 0
            while written < count {
                // Under a bandwidth limit, a slice of 10 ms worth at a time, each followed by its time.
                let rate = lock.withLock { () -> Int? in
                    if case .bandwidth(let rate) = mode { return max(rate, 100) }
                    return nil
                }
                let slice = rate.map { min(count - written, $0 / 100) } ?? count - written
                let result = chunk.withUnsafeBytes { send(to, $0.baseAddress! + written, slice, Int32(MSG_NOSIGNAL)) }
                guard result > 0 else { break }
                written += result
                if let rate { usleep(UInt32(Int64(result) * 1_000_000 / Int64(rate))) }
            }
            guard written == count else { break }
        }
        lock.withLock {
            for descriptor in [from, to] where open.contains(descriptor) {
                shutdown(descriptor, Int32(resetting.contains(descriptor) ? SHUT_RD : SHUT_RDWR))
            }
        }
    }

    private func waitWhileBlackholed() {
        while lock.withLock({ mode == .blackhole && !stopped }) { usleep(2_000) }
    }

    private func release(_ descriptor: Int32) {
        lock.withLock {
            guard let index = open.firstIndex(of: descriptor) else { return }
            open.remove(at: index)
            resetting.remove(descriptor)
            close(descriptor)
        }
    }
}
