import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

func reply(_ wire: String) -> RESPToken { try! RESPToken(validating: Bytes(wire)) }

let ok = reply("+OK\r\n")
let helloMap = reply("%1\r\n$5\r\nproto\r\n:3\r\n")

/// A handshake outcome: the protocol, and the connection id when the server said it.
func ready(_ version: ProtocolVersion, id: Int? = nil) -> HandshakeStateMachine.Action {
    .ready(ConnectionInfo(protocolVersion: version, clientID: id))
}

func commands(_ bytes: Bytes) -> [[String]] {
    var decoder = RESPDecoder()
    var buffer = bytes
    var result: [[String]] = []
    while let token = try! decoder.decode(from: &buffer) {
        result.append(token.elements!.map { $0.stringBytes!.string })
    }
    return result
}

@Suite(.timeLimit(.minutes(2))) struct HandshakeStateMachineTests {
    @Test func resp3SendsOneHelloWithAuthAndNameThenSelectAndLibraryInfo() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: ServerCredentials(password: "pw", username: "app"),
                clientName: "svc", databaseID: 2))
        #expect(
            commands(machine.start()) == [
                ["HELLO", "3", "AUTH", "app", "pw", "SETNAME", "svc"],
                ["SELECT", "2"],
                ["CLIENT", "SETINFO", "LIB-NAME", "glide-swift"],
                ["CLIENT", "SETINFO", "LIB-VER", GlideVersion.current],
            ])
        #expect(machine.receive(helloMap) == .awaitReplies)
        #expect(machine.receive(ok) == .awaitReplies)
        #expect(machine.receive(ok) == .awaitReplies)
        #expect(machine.receive(ok) == ready(.resp3))
    }

    @Test func helloReportsTheConnectionIdRoleAndZone() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0))
        _ = machine.start()
        let hello = reply(
            "%4\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:42\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
                + "$17\r\navailability_zone\r\n$4\r\naz-b\r\n")
        #expect(machine.receive(hello) == .awaitReplies)
        #expect(machine.receive(ok) == .awaitReplies)
        #expect(
            machine.receive(ok) == .ready(ConnectionInfo(protocolVersion: .resp3, clientID: 42, role: "replica", availabilityZone: "az-b")))
    }

    @Test func aStandaloneConnectionDeclaresRedirectsAndReadsAndAnOlderServersRefusalIsIgnored() {
        var machine = HandshakeStateMachine(configuration: HandshakeConfiguration(protocolVersion: .resp3, redirects: true))
        #expect(
            commands(machine.start()) == [
                ["HELLO", "3"],
                ["CLIENT", "CAPA", "redirect"],
                ["READONLY"],
                ["CLIENT", "SETINFO", "LIB-NAME", "glide-swift"],
                ["CLIENT", "SETINFO", "LIB-VER", GlideVersion.current],
            ])
        #expect(machine.receive(helloMap) == .awaitReplies)
        // Redis 7: no CLIENT CAPA, and READONLY only in cluster mode.
        #expect(machine.receive(reply("-ERR unknown subcommand 'CAPA'. Try CLIENT HELP.\r\n")) == .awaitReplies)
        #expect(machine.receive(reply("-ERR This instance has cluster support disabled\r\n")) == .awaitReplies)
        #expect(machine.receive(ok) == .awaitReplies)
        #expect(machine.receive(ok) == ready(.resp3))
    }

    @Test func passwordOnlyAuthenticatesAsTheDefaultUser() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: ServerCredentials(password: "pw"), clientName: nil, databaseID: 0))
        #expect(commands(machine.start()).first == ["HELLO", "3", "AUTH", "default", "pw"])
    }

    @Test func resp2UsesAuthAndClientSetName() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp2, credentials: ServerCredentials(password: "pw"), clientName: "svc", databaseID: 0))
        #expect(
            commands(machine.start()) == [
                ["AUTH", "pw"],
                ["CLIENT", "SETNAME", "svc"],
                ["CLIENT", "SETINFO", "LIB-NAME", "glide-swift"],
                ["CLIENT", "SETINFO", "LIB-VER", GlideVersion.current],
                ["CLIENT", "ID"],
            ])
        for _ in 0..<4 { #expect(machine.receive(ok) == .awaitReplies) }
        #expect(machine.receive(reply(":7\r\n")) == ready(.resp2, id: 7))
    }

    @Test func serverWithoutHelloFallsBackToRESP2AfterDrainingThePipeline() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: ServerCredentials(password: "pw"), clientName: nil, databaseID: 1))
        _ = machine.start()
        #expect(machine.receive(reply("-ERR unknown command 'HELLO'\r\n")) == .awaitReplies)
        #expect(machine.receive(reply("-NOAUTH Authentication required.\r\n")) == .awaitReplies)  // SELECT ran unauthenticated
        #expect(machine.receive(reply("-ERR unknown subcommand\r\n")) == .awaitReplies)
        guard case .send(let retry) = machine.receive(reply("-ERR unknown subcommand\r\n")) else {
            Issue.record("expected the RESP2 handshake")
            return
        }
        #expect(commands(retry).map(\.first) == ["AUTH", "SELECT", "CLIENT", "CLIENT", "CLIENT"])
        for _ in 0..<4 { #expect(machine.receive(ok) == .awaitReplies) }
        #expect(machine.receive(reply(":9\r\n")) == ready(.resp2, id: 9))
    }

    @Test(arguments: [
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        "-NOAUTH HELLO must be called with the client already authenticated\r\n",
        "-ERR invalid password\r\n",
    ])
    func rejectedCredentialsFailAsAuthentication(error: String) {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: ServerCredentials(password: "pw"), clientName: nil, databaseID: 0))
        _ = machine.start()
        guard case .failed(let summary) = machine.receive(reply(error)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(summary.code == .authenticationFailed)
        #expect(!summary.message.contains("pw "))
    }

    @Test func badDatabaseIsAConfigurationError() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 99))
        _ = machine.start()
        #expect(machine.receive(helloMap) == .awaitReplies)
        guard case .failed(let summary) = machine.receive(reply("-ERR DB index is out of range\r\n")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(summary.code == .configuration)
        #expect(summary.message.contains("database 99"))
    }

    @Test func libraryInfoErrorsAreIgnored() {
        var machine = HandshakeStateMachine(
            configuration: HandshakeConfiguration(
                protocolVersion: .resp3, credentials: nil, clientName: nil, databaseID: 0))
        _ = machine.start()
        #expect(machine.receive(helloMap) == .awaitReplies)
        #expect(machine.receive(reply("-ERR unknown subcommand 'SETINFO'\r\n")) == .awaitReplies)
        #expect(machine.receive(reply("-ERR unknown subcommand 'SETINFO'\r\n")) == ready(.resp3))
    }
}
