import Glibc
import Testing

@testable import GlideTransport

/// The funnel played by the test (`KernelFaults`): what a socket stream does when the kernel
/// interrupts, would block, or resets in the middle of a write, over a socket pair.
@Suite(.timeLimit(.minutes(2))) struct KernelFaultTests {
    /// Runs `body` with a fresh socket pair, then drops the stream's faults and closes both ends.
    func withPair(_ body: (SocketStream, Int32) throws -> Void) throws {
        let (stream, peer) = socketStreamPair()
        defer {
            KernelFaults.clear(stream.descriptor)
            stream.close()
            Glibc.close(peer)
        }
        try body(stream, peer)
    }

    @Test func anInterruptedReadIsRetriedAndReadsEverything() throws {
        try withPair { stream, peer in
            _ = "hello".withCString { Glibc.write(peer, $0, 5) }
            KernelFaults.inject(.interrupted, into: "read", on: stream.descriptor, count: 3)
            var buffer = Bytes()
            let result = try stream.read(into: &buffer, maximumLength: 64)
            #expect(result == .bytes(5))
            #expect(buffer.string == "hello")
        }
    }

    @Test func aWriteThatWouldBlockLosesNothing() throws {
        try withPair { stream, peer in
            KernelFaults.inject(.wouldBlock, into: "send", on: stream.descriptor)
            guard case .wouldBlock = try stream.write(Bytes("PING")) else {
                Issue.record("expected wouldBlock")
                return
            }
            // Nothing was written; the next write sends it whole.
            let written = try stream.write(Bytes("PING"))
            #expect(written.processedCount == 4)
            var received = [UInt8](repeating: 0, count: 16)
            #expect(Glibc.read(peer, &received, 16) == 4)
        }
    }

    @Test func aResetInTheMiddleOfAVectoredWriteIsAClosedConnection() throws {
        try withPair { stream, _ in
            var pending = PendingWrites()
            pending.append(Bytes("*1\r\n"))
            pending.append(Bytes("$4\r\nPING\r\n"))
            KernelFaults.inject(.connectionReset, into: "sendmsg", on: stream.descriptor)
            let error = #expect(throws: TransportError.self) {
                _ = try pending.withVectors { vectors throws(TransportError) in try stream.write(vectors: vectors) }
            }
            #expect(error?.kind == .connectionClosed)
            #expect(error?.errno == .connectionReset)
            #expect(error?.syscall == "sendmsg")
        }
    }

    @Test func shortWritesResumeWhereTheKernelStoppedAcrossBuffers() throws {
        try withPair { stream, peer in
            let chunks = ["*2\r\n", "$3\r\nGET\r\n", "$5\r\nhello\r\n"]
            var pending = PendingWrites()
            for chunk in chunks { pending.append(Bytes(chunk)) }
            // Every write is cut to 3 bytes: some end inside a buffer, some at its end.
            KernelFaults.shorten(writesOn: stream.descriptor, to: 3, count: 100)
            var calls = 0
            while !pending.isEmpty {
                let result = try pending.withVectors { vectors throws(TransportError) in try stream.write(vectors: vectors) }
                guard case .processed(let count) = result else {
                    Issue.record("a socket pair with room took nothing")
                    return
                }
                #expect(count <= 3)
                pending.didWrite(count)
                calls += 1
            }
            let expected = chunks.joined()
            // One buffer at a time, as a kernel short of space takes it: 4 = 3 + 1, 9 = 3 × 3, 11 = 3 × 3 + 2.
            #expect(calls == 9)
            var received = [UInt8](repeating: 0, count: 64)
            let count = Glibc.read(peer, &received, 64)
            #expect(String(decoding: received[0..<max(count, 0)], as: UTF8.self) == expected)
        }
    }

    @Test func faultsAreTheirDescriptorsOnly() throws {
        try withPair { stream, _ in
            try withPair { other, _ in
                KernelFaults.inject(.connectionReset, into: "send", on: stream.descriptor)
                let unaffected = try other.write(Bytes("x"))
                #expect(unaffected.processedCount == 1)
                #expect(throws: TransportError.self) { _ = try stream.write(Bytes("x")) }
                let after = try stream.write(Bytes("y"))
                #expect(after.processedCount == 1)
            }
        }
    }
}
