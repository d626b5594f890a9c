import Glibc
import Testing

@testable import GlideTransport

/// The funnel played by the test (`KernelFaults`): what a socket stream does when the kernel
/// interrupts, would block, or resets in the middle of a write, over a socket pair.
@Suite struct KernelFaultTests {
    func pair() -> (SocketStream, Int32) {
        var descriptors: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &descriptors) == 0)
        return (SocketStream(descriptor: descriptors[0], remoteAddress: .unix(path: "pair")), descriptors[1])
    }

    @Test func anInterruptedReadIsRetriedAndReadsEverything() throws {
        let (stream, peer) = pair()
        defer {
            KernelFaults.clear(stream.descriptor)
            stream.close()
            Glibc.close(peer)
        }
        _ = "hello".withCString { Glibc.write(peer, $0, 5) }
        KernelFaults.inject(.interrupted, into: "read", on: stream.descriptor, count: 3)
        var buffer = Bytes()
        #expect(try stream.read(into: &buffer, maximumLength: 64) == .bytes(5))
        #expect(buffer.string == "hello")
    }

    @Test func aWriteThatWouldBlockLosesNothing() throws {
        let (stream, peer) = pair()
        defer {
            KernelFaults.clear(stream.descriptor)
            stream.close()
            Glibc.close(peer)
        }
        KernelFaults.inject(.wouldBlock, into: "send", on: stream.descriptor)
        guard case .wouldBlock = try stream.write(Bytes("PING")) else {
            Issue.record("expected wouldBlock")
            return
        }
        // Nothing was written; the next write sends it whole.
        #expect(try stream.write(Bytes("PING")).processedCount == 4)
        var received = [UInt8](repeating: 0, count: 16)
        #expect(Glibc.read(peer, &received, 16) == 4)
    }

    @Test func aResetInTheMiddleOfAVectoredWriteIsAClosedConnection() throws {
        let (stream, peer) = pair()
        defer {
            KernelFaults.clear(stream.descriptor)
            stream.close()
            Glibc.close(peer)
        }
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

    @Test func faultsAreTheirDescriptorsOnly() throws {
        let (stream, peer) = pair()
        let (other, otherPeer) = pair()
        defer {
            KernelFaults.clear(stream.descriptor)
            stream.close()
            other.close()
            Glibc.close(peer)
            Glibc.close(otherPeer)
        }
        KernelFaults.inject(.connectionReset, into: "send", on: stream.descriptor)
        #expect(try other.write(Bytes("x")).processedCount == 1)
        #expect(throws: TransportError.self) { _ = try stream.write(Bytes("x")) }
        #expect(try stream.write(Bytes("y")).processedCount == 1)
    }
}
