import Foundation
public import Glide

/// A scripted RESP server on a loopback port, for what a real server won't do: malformed replies,
/// closing mid-reply, never answering.
///
/// It parses each command the client sends and asks `respond` what to write back: the bytes of a
/// reply (any bytes, valid RESP or not), or `nil` to close the connection. The connection number
/// (from zero) lets a script behave differently after a reconnect. The handshake commands
/// (`HELLO`, `CLIENT SETINFO`, `SELECT`) are answered like a real server unless the script says
/// otherwise.
public final class FakeServer: @unchecked Sendable {
    /// What the script sees of one command.
    public struct Command: Sendable {
        /// Which connection, counting from zero.
        public let connection: Int
        /// The command's arguments as text.
        public let arguments: [String]
        /// The first argument, upper-cased.
        public var name: String { arguments.first?.uppercased() ?? "" }
    }

    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let respond: @Sendable (Command) -> Bytes?
    private let lock = NSLock()
    private var connections = 0
    private var openDescriptors: [Int32] = []
    private var stopped = false

    /// Where to connect.
    public var address: NodeAddress { NodeAddress(host: "127.0.0.1", port: port) }

    /// A server answering with `respond`.
    public init(respond: @escaping @Sendable (Command) -> Bytes?) {
        self.respond = respond
        (listener, port) = FreePort.listen(backlog: 16)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// How many connections were accepted.
    public var connectionCount: Int { lock.withLock { connections } }

    /// Stops accepting and ends every connection. Safe to call more than once.
    ///
    /// Descriptors are touched only under the lock and only while this server owns them: a
    /// descriptor number closed twice may already belong to another test's socket.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            for descriptor in openDescriptors { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    private func release(_ descriptor: Int32) {
        lock.withLock {
            openDescriptors.removeAll { $0 == descriptor }
            close(descriptor)
        }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                // Stopped: the accept loop owns the listener, so it closes it, once.
                lock.withLock { _ = close(listener) }
                return
            }
            let number = lock.withLock { () -> Int? in
                if stopped { return nil }
                connections += 1
                openDescriptors.append(descriptor)
                return connections - 1
            }
            guard let number else {
                close(descriptor)
                lock.withLock { _ = close(listener) }
                return
            }
            let thread = Thread { [self] in serve(descriptor, connection: number) }
            thread.start()
        }
    }

    private func serve(_ descriptor: Int32, connection: Int) {
        defer { release(descriptor) }
        var decoder = RESPDecoder()
        var buffer = Bytes()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { return }
            buffer.writeBytes(chunk[0..<count])
            while let token = try? decoder.decode(from: &buffer) {
                let arguments = token.elements.map { $0.map { $0.stringBytes?.string ?? "" } } ?? []
                let command = Command(connection: connection, arguments: arguments)
                guard let reply = respond(command) ?? nil else { return }
                let sent = reply.withUnsafeReadableBytes { raw -> Bool in
                    var offset = 0
                    while offset < raw.count {
                        let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                        if written <= 0 { return false }
                        offset += written
                    }
                    return true
                }
                if !sent { return }
            }
        }
    }

    /// The reply a real server gives to the handshake commands, or `nil` for other commands.
    public static func handshakeReply(_ command: Command) -> Bytes? {
        switch command.name {
        case "HELLO":
            return Bytes("%3\r\n$6\r\nserver\r\n$4\r\nfake\r\n$5\r\nproto\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n")
        case "CLIENT", "SELECT", "AUTH", "READONLY":
            return Bytes("+OK\r\n")
        default:
            return nil
        }
    }
}
