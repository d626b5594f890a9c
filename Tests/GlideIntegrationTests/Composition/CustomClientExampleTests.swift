import GlideTestSupport
import Testing

/// `Examples/custom-client` (`make custom-client-demo`) runs against a real server: its own
/// commands over the connection layer, then the ready client through a recording connector.
@Suite(.timeLimit(.minutes(5))) struct CustomClientExampleTests {
    @Test func theExampleRunsItsOwnCommandsAndRecordsTheReadyClientsTraffic() async throws {
        let server = try await SharedServer.valkey()
        let example = try ServerBinaries.product("custom-client")
        let output = try await GlideCLITests.run(example, ["127.0.0.1", String(server.port)])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("tiny-kv PING -> PONG"))
        #expect(lines.contains("tiny-kv 50 tasks, mismatches -> 0"))
        #expect(lines.contains("tiny-kv GET custom-client:missing -> (nil)"))
        #expect(lines.contains("GlideClient GET custom-client:recorded -> hello"))
        #expect(lines.contains { $0.hasPrefix("recorded: 1 connection, ") })
        #expect(lines.contains(#"the GET on the wire -> "*2\r\n$3\r\nGET\r\n$22\r\ncustom-client:recorded\r\n""#))
    }
}
