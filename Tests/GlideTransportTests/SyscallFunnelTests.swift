import Glibc
import Testing

@testable import GlideTransport

@Suite(.timeLimit(.minutes(2))) struct SyscallFunnelTests {
    @Test func retriesInterruptedCalls() throws {
        var attempts = 0
        let result = try syscall("fake") { () -> Int32 in
            attempts += 1
            if attempts < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        guard case .processed(7) = result else {
            Issue.record("expected 7, got \(result)")
            return
        }
        #expect(attempts == 3)
    }

    @Test func mapsWouldBlock() throws {
        let result = try syscall("fake") { () -> Int in
            errno = EAGAIN
            return -1
        }
        guard case .wouldBlock = result else {
            Issue.record("expected wouldBlock, got \(result)")
            return
        }
    }

    @Test func throwsOtherErrorsTyped() {
        let error = #expect(throws: TransportError.self) {
            _ = try syscall("connect") { () -> Int32 in
                errno = ECONNREFUSED
                return -1
            }
        }
        #expect(error?.kind == .systemCall)
        #expect(error?.errno == .connectionRefused)
        #expect(error?.syscall == "connect")
        #expect(error?.description.contains("Connection refused") == true)
    }

    @Test func peerResetIsAClosedConnection() {
        let reset = SocketStream.classify(TransportError(.systemCall, syscall: "read", errno: .connectionReset))
        #expect(reset.kind == .connectionClosed)
        let other = SocketStream.classify(TransportError(.systemCall, syscall: "read", errno: Errno(rawValue: EIO)))
        #expect(other.kind == .systemCall)
    }
}

@Suite(.timeLimit(.minutes(2))) struct PendingWritesTests {
    @Test func accountsForPartialVectoredWrites() {
        var pending = PendingWrites()
        pending.append(Bytes("abc"))
        pending.append(Bytes())
        pending.append(Bytes("defgh"))
        pending.append(Bytes("ij"))
        #expect(pending.byteCount == 10)
        #expect(pending.chunkCount == 3)
        pending.withVectors { vectors in
            #expect(vectors.count == 3)
            #expect(vectors.map(\.iov_len) == [3, 5, 2])
        }
        pending.didWrite(4)  // all of "abc" and the "d" of "defgh"
        #expect(pending.byteCount == 6)
        #expect(pending.chunkCount == 2)
        pending.withVectors { vectors in
            let first = UnsafeRawBufferPointer(start: vectors[0].iov_base, count: vectors[0].iov_len)
            #expect(String(decoding: first, as: UTF8.self) == "efgh")
        }
        pending.didWrite(6)
        #expect(pending.isEmpty)
        #expect(pending.chunkCount == 0)
    }

    @Test func offersAtMostTheVectorLimit() {
        var pending = PendingWrites()
        for _ in 0..<(PendingWrites.maximumVectors + 10) { pending.append(Bytes("x")) }
        pending.withVectors { #expect($0.count == PendingWrites.maximumVectors) }
    }
}

@Suite(.timeLimit(.minutes(2))) struct DeadlineAndAddressTests {
    @Test func deadlineArithmeticSaturates() {
        let start = Deadline(uptimeNanoseconds: 1_000)
        #expect((start + .milliseconds(1)).uptimeNanoseconds == 1_001_000)
        #expect(start + .seconds(Int64.max) == .distantFuture)
        #expect(start + .seconds(-5) == start)
        #expect((start + .seconds(2)) - start == .seconds(2))
        #expect(start - (start + .seconds(1)) == .zero)
        #expect(Deadline.now() < Deadline.now() + .nanoseconds(1))
    }

    @Test func parsesNumericAddresses() throws {
        #expect(SocketAddress(numericHost: "127.0.0.1", port: 6379)?.description == "127.0.0.1:6379")
        #expect(SocketAddress(numericHost: "::1", port: 6379)?.description == "[::1]:6379")
        #expect(SocketAddress(numericHost: "[::1]", port: 1)?.description == "[::1]:1")
        #expect(SocketAddress(numericHost: "localhost", port: 6379) == nil)
        #expect(SocketAddress(numericHost: "127.0.0.1", port: 70_000) == nil)
    }

    @Test func resolvesHostNamesOffTheCooperativePool() async throws {
        let addresses = try await Resolver.resolve(host: "localhost", port: 6379)
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { $0.description.hasSuffix(":6379") })
    }

    @Test func unknownHostIsATypedResolutionError() async {
        let error = await #expect(throws: TransportError.self) {
            _ = try await Resolver.resolve(host: "no-such-host.invalid", port: 1)
        }
        #expect(error?.kind == .resolutionFailed)
        #expect(error?.description.contains("no-such-host.invalid") == true)
    }
}

/// A socket pair, one end wrapped in a stream and the other a plain descriptor: no network
/// involved.
func socketStreamPair() -> (SocketStream, Int32) {
    var descriptors: [Int32] = [0, 0]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &descriptors) == 0)
    return (SocketStream(descriptor: descriptors[0], remoteAddress: .unix(path: "pair")), descriptors[1])
}

@Suite(.timeLimit(.minutes(2))) struct SocketStreamCloseTests {
    func pair() -> (SocketStream, Int32) { socketStreamPair() }

    @Test func callsAfterCloseFailAndTheDescriptorIsReleasedOnce() throws {
        let (stream, peer) = pair()
        defer { Glibc.close(peer) }
        #expect(try stream.write(Bytes("x")).processedCount == 1)
        stream.close()
        stream.close()
        #expect(stream.isClosed)
        let error = #expect(throws: TransportError.self) { _ = try stream.write(Bytes("y")) }
        #expect(error?.kind == .streamClosed)
        var buffer = Bytes()
        #expect(throws: TransportError.self) { _ = try stream.read(into: &buffer, maximumLength: 10) }
        #expect(stream.isReleased)
    }

    @Test func closeDuringConcurrentWritesNeverTouchesAReusedDescriptor() async throws {
        for _ in 0..<20 {
            let (stream, peer) = pair()
            let writers = (0..<4).map { _ in
                Task.detached {
                    for _ in 0..<200 { _ = try? stream.write(Bytes("z")) }
                }
            }
            stream.close()
            for writer in writers { await writer.value }
            // Every writer has left, so the descriptor was released, exactly once (a second
            // release would have trapped on EBADF).
            #expect(stream.isReleased)
            Glibc.close(peer)
        }
    }
}

extension IOResult<Int> {
    var processedCount: Int? { if case .processed(let count) = self { count } else { nil } }
}
