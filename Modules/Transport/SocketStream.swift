import CGlideSystem
public import Glibc
import Synchronization

/// A non-blocking TCP or Unix domain socket.
///
/// TCP sockets have `TCP_NODELAY` (requests are already batched by the client, so Nagle's delay
/// only adds latency) and `SO_KEEPALIVE`. The stream owns its descriptor and releases it once.
///
/// `close()` may race with a read or write on another thread. Calls in progress are counted, and
/// the descriptor is released only when the last of them ends: a write that starts after `close()`
/// fails with `.streamClosed` and can never reach a descriptor number the kernel has reused.
public final class SocketStream: ByteStream, @unchecked Sendable {
    /// The socket's descriptor, owned by this stream.
    public let descriptor: Int32
    /// The address the socket is connected to.
    public let remoteAddress: SocketAddress
    /// Bit 0: closed. Bit 1: descriptor released. Above: calls in progress, in units of 4.
    private let usage = Atomic<Int>(0)

    init(descriptor: Int32, remoteAddress: SocketAddress) {
        self.descriptor = descriptor
        self.remoteAddress = remoteAddress
    }

    deinit { close() }

    /// The socket's descriptor.
    public var selectableDescriptor: Int32? { descriptor }

    /// Sockets are full duplex: a write may run while another thread reads.
    public var allowsConcurrentWrites: Bool { true }

    /// Whether `close()` has been called.
    public var isClosed: Bool { usage.load(ordering: .acquiring) & 1 != 0 }

    /// Whether the descriptor has been released to the kernel.
    var isReleased: Bool { usage.load(ordering: .acquiring) & 2 != 0 }

    /// Counts a call in; false once closed.
    private func enter() -> Bool {
        if usage.add(4, ordering: .acquiringAndReleasing).newValue & 1 == 0 { return true }
        leave()
        return false
    }

    /// Counts a call out; the last one out after `close()` releases the descriptor.
    private func leave() {
        if usage.subtract(4, ordering: .acquiringAndReleasing).newValue == 1 { release() }
    }

    /// Releases the descriptor; of all callers, only the one that moves the state from
    /// "closed, unused" to "released" does it.
    private func release() {
        if usage.compareExchange(expected: 1, desired: 3, ordering: .acquiringAndReleasing).exchanged {
            closeDescriptor(descriptor)
        }
    }

    private func closedError(_ call: String) -> TransportError {
        TransportError(.streamClosed, syscall: call, detail: "\(remoteAddress)")
    }

    /// Reads into `buffer`'s spare capacity.
    public func read(into buffer: inout Bytes, maximumLength: Int) throws(TransportError) -> StreamReadResult {
        guard enter() else { throw closedError("read") }
        defer { leave() }
        let descriptor = self.descriptor
        var outcome = StreamReadResult.wouldBlock
        _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumLength) { spare throws(TransportError) in
            let limit = Swift.min(spare.count, maximumLength)
            do throws(TransportError) {
                switch try syscall("read", descriptor: descriptor, { Glibc.read(descriptor, spare.baseAddress, limit) }) {
                case .wouldBlock:
                    return 0
                case .processed(let count):
                    outcome = count == 0 ? .endOfStream : .bytes(count)
                    return count
                }
            } catch {
                throw Self.classify(error)
            }
        }
        return outcome
    }

    /// A vectored write: `sendmsg` is `writev` with `Platform.sendFlags`, so a closed peer gives `EPIPE`
    /// instead of killing the process with `SIGPIPE`; a single buffer goes through `send`.
    public func write(vectors: UnsafeBufferPointer<iovec>) throws(TransportError) -> IOResult<Int> {
        guard enter() else { throw closedError("sendmsg") }
        defer { leave() }
        do throws(TransportError) {
            #if DEBUG
            if let limit = KernelFaults.writeLimit(on: descriptor), let first = vectors.first {
                let count = Swift.min(first.iov_len, limit)
                return try syscall("send", descriptor: descriptor) { send(descriptor, first.iov_base, count, Platform.sendFlags) }
            }
            #endif
            if vectors.count == 1 {
                // One buffer, the usual case: send() skips sendmsg's copy-in of the header and vector.
                let only = vectors[0]
                return try syscall("send", descriptor: descriptor) { send(descriptor, only.iov_base, only.iov_len, Platform.sendFlags) }
            }
            var message = msghdr()
            message.msg_iov = UnsafeMutablePointer(mutating: vectors.baseAddress)
            message.msg_iovlen = vectors.count
            return try syscall("sendmsg", descriptor: descriptor) { sendmsg(descriptor, &message, Platform.sendFlags) }
        } catch {
            throw Self.classify(error)
        }
    }

    /// Closes the stream: later reads and writes fail, and the descriptor is released as soon as
    /// no call is using it. Later calls do nothing.
    public func close() {
        let before = usage.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue
        if before & 1 == 0 && before == 0 { release() }
    }

    /// A reset or broken pipe is the peer going away, not a failed system call.
    static func classify(_ error: TransportError) -> TransportError {
        switch error.errno {
        case Errno.connectionReset?, Errno.brokenPipe?, Errno.timedOut?:
            return TransportError(.connectionClosed, syscall: error.syscall, errno: error.errno)
        default:
            return error
        }
    }
}

extension SocketStream {
    /// Connects to the first of `addresses` that accepts, giving up at `deadline`.
    public static func connect(
        to addresses: [SocketAddress], deadline: Deadline, on loop: some EventLoop
    ) async throws(TransportError) -> SocketStream {
        var lastError = TransportError(.invalidAddress, detail: "no address to connect to")
        for address in addresses {
            do {
                return try await connect(to: address, deadline: deadline, on: loop)
            } catch {
                lastError = error
                if error.kind == .connectTimedOut { break }
            }
        }
        throw lastError
    }

    /// Connects to `address` without blocking: the kernel connects in the background and the loop
    /// reports when the socket becomes writable, or the deadline passes.
    public static func connect(
        to address: SocketAddress, deadline: Deadline, on loop: some EventLoop
    ) async throws(TransportError) -> SocketStream {
        let descriptor = try Platform.streamSocket(family: address.family)
        let stream = SocketStream(descriptor: descriptor, remoteAddress: address)
        if address.family != AF_UNIX {
            var on: Int32 = 1
            bestEffortSyscall("setsockopt") {
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            bestEffortSyscall("setsockopt") { setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size)) }
        }
        // Outside the funnel, like close: a connect interrupted by a signal goes on in the
        // background, and calling it again would fail with EALREADY.
        let started = address.withSockAddr { pointer, length in Glibc.connect(descriptor, pointer, length) }
        if started == 0 { return stream }
        let error = Errno.current
        guard error == .inProgress || error == .wouldBlock else {
            stream.close()
            throw TransportError(.connectFailed, syscall: "connect", errno: error, detail: "\(address)")
        }
        // The kernel connects in the background; writability says it is done, SO_ERROR how.
        let outcome = await ReadinessWaiter.wait(
            for: stream, on: loop, until: deadline, expired: TransportError(.connectTimedOut, detail: "\(address)"),
            first: .waiting(forWritable: true)
        ) { .finished(stream.pendingConnectError()) }
        if let outcome {
            stream.close()
            throw outcome
        }
        return stream
    }
}

extension SocketStream {
    /// The outcome of a background connect, once the socket is writable: `nil` when connected.
    func pendingConnectError() -> TransportError? {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        do throws(TransportError) {
            _ = try blockingSyscall("getsockopt") { getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length) }
        } catch {
            return TransportError(.connectFailed, syscall: "getsockopt", errno: error.errno, detail: "\(remoteAddress)")
        }
        guard error != 0 else { return nil }
        return TransportError(.connectFailed, syscall: "connect", errno: Errno(rawValue: error), detail: "\(remoteAddress)")
    }
}
