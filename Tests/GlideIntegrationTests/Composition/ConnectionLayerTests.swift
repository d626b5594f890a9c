// This file uses the connection layer alone: GlideConnection, with GlideRESPCodec and
// GlideTransport, which it re-exports. No client is involved (GlideTestSupport only starts the
// server).
import GlideConnection
import GlideTestSupport
import Synchronization
import Testing

@testable import GlideTransport

/// A client of one's own, built on the public connection layer: handshake, pipelining shared by
/// concurrent tasks, and supervision that reconnects in the background.
@Suite(.timeLimit(.minutes(5))) struct ConnectionLayerTests {
    @Test func aSupervisedConnectionServesConcurrentTasksAndReconnectsAfterClientKill() async throws {
        let server = try await SharedServer.valkey()
        let prefix = SharedServer.uniqueKey()
        let connection = try await SupervisedConnection.open(
            to: server.address,
            configuration: ConnectionConfiguration(
                handshake: HandshakeConfiguration(clientName: "composed"), requestTimeout: .seconds(5)))

        // The handshake ran: RESP3, our name, and the server's id for this connection.
        let info = try #require(connection.connection.info)
        #expect(info.protocolVersion == .resp3)
        let firstID = try #require(info.clientID)
        let name = try await connection.send { $0.writeRESPCommand("CLIENT" as StaticString, "GETNAME" as StaticString) }
        #expect(name.stringBytes?.string == "composed")

        // 100 tasks over the one connection, each reading back its own value, and each
        // counting once.
        let counter = prefix + ":counter"
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<100 {
                group.addTask {
                    var wrong = 0
                    for round in 0..<10 {
                        let key = "\(prefix):\(task)"
                        let value = "\(task)-\(round)"
                        let set = try await connection.send { $0.writeRESPCommand("SET" as StaticString, key, value) }
                        if set.stringBytes?.string != "OK" { wrong += 1 }
                        let got = try await connection.send { $0.writeRESPCommand("GET" as StaticString, key) }
                        if got.stringBytes?.string != value { wrong += 1 }
                    }
                    _ = try await connection.send { $0.writeRESPCommand("INCR" as StaticString, counter) }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        let count = try await connection.send { $0.writeRESPCommand("GET" as StaticString, counter) }
        #expect(count.stringBytes?.string == "100")
        #expect(try await connection.send { $0.writeRESPCommand("CLIENT" as StaticString, "ID" as StaticString) }.integerValue == firstID)

        // The server drops the connection: the supervisor opens a new one in the background,
        // with no request asking for it, and the handshake runs again (same name, new id).
        let killer = try await SupervisedConnection.open(to: server.address)
        let killed = try await killer.send {
            $0.writeRESPCommand("CLIENT" as StaticString, "KILL" as StaticString, "ID" as StaticString, firstID)
        }
        #expect(killed.integerValue == 1)
        // `info` is the state machine's own word (nil until the new handshake is done);
        // `isReady` is a lock-free hint that can lag the loss by a moment.
        try await Polling.waitUntil("the connection is back with a new id", timeout: .seconds(10)) {
            guard let id = connection.connection.info?.clientID else { return false }
            return id != firstID
        }
        let secondID = try #require(connection.connection.info?.clientID)
        #expect(secondID != firstID)
        #expect(try await connection.send { $0.writeRESPCommand("CLIENT" as StaticString, "ID" as StaticString) }.integerValue == secondID)
        #expect(
            try await connection.send { $0.writeRESPCommand("CLIENT" as StaticString, "GETNAME" as StaticString) }.stringBytes?.string
                == "composed")

        await killer.close()
        await connection.close()
        // Closed: a request fails at once with a typed error, and nothing runs.
        await #expect(throws: GlideError.self) {
            _ = try await connection.send { $0.writeRESPCommand("PING" as StaticString) }
        }
    }

    @Test func anErrorReplyIsAToken() async throws {
        let server = try await SharedServer.valkey()
        let connection = try await SupervisedConnection.open(to: server.address)
        let reply = try await connection.send { $0.writeRESPCommand("NOSUCHCOMMAND" as StaticString) }
        #expect(reply.type.isError)
        #expect(try await connection.send { $0.writeRESPCommand("PING" as StaticString) }.stringBytes?.string == "PONG")
        await connection.close()
    }

    @Test func aRefusedConnectionIsATypedError() async throws {
        let refusing = try FreePort.refusing()
        let error = await #expect(throws: GlideError.self) {
            _ = try await SupervisedConnection.open(to: NodeAddress(host: "127.0.0.1", port: refusing.port))
        }
        #expect(error?.code == .connectionFailed)
    }

    /// A connector to the server over plain TCP that remembers each socket's descriptor, so the
    /// test can play the kernel for it (`KernelFaults`).
    final class DescriptorConnector: StreamConnector {
        let address: NodeAddress
        let loop: EpollEventLoop
        let descriptors = Lock<[Int32]>([])

        init(address: NodeAddress, loop: EpollEventLoop) {
            self.address = address
            self.loop = loop
        }

        var addressDescription: String { address.description }

        func connect(deadline: Deadline) async throws(TransportError) -> SocketStream {
            let target = SocketAddress(numericHost: address.host, port: address.port)!
            let stream = try await SocketStream.connect(to: [target], deadline: deadline, on: loop)
            descriptors.withLock { $0.append(stream.descriptor) }
            return stream
        }
    }

    @Test func aResetInTheMiddleOfAWriteFailsTheRequestTypedAndTheConnectionComesBack() async throws {
        let server = try await SharedServer.valkey()
        let loop = EpollEventLoopGroup.shared.next()
        let connector = DescriptorConnector(address: server.address, loop: loop)
        let connection = SupervisedConnection(
            loop: loop, connector: connector, configuration: ConnectionConfiguration(requestTimeout: .seconds(5)))
        await connection.start()
        try await connection.connect()
        let first = try #require(connector.descriptors.withLock { $0.last })
        defer { KernelFaults.clear(first) }
        // The kernel resets the connection as the request is written.
        KernelFaults.inject(.connectionReset, into: "send", on: first)
        let error = await #expect(throws: GlideError.self) {
            _ = try await connection.send { $0.writeRESPCommand("PING" as StaticString) }
        }
        #expect(error?.code == .connectionClosed)
        // The supervisor opened a new socket, and the connection serves again.
        #expect(try await connection.send { $0.writeRESPCommand("PING" as StaticString) }.stringBytes?.string == "PONG")
        #expect(connector.descriptors.withLock { $0.count } == 2)
        await connection.close()
    }
}
