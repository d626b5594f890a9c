// A client composed from the layers: first a key-value client of our own, three commands over
// the public connection layer (GlideConnection) and nothing else; then the ready GlideClient
// over a connector that wraps its own and records the traffic.
// Usage: custom-client [host] [port]
import Glide
import GlideConnection

let arguments = CommandLine.arguments
let host = arguments.count > 1 ? arguments[1] : "localhost"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 6379 : 6379
let address = NodeAddress(host: host, port: port)

// MARK: A client of our own

/// What `TinyKV` throws: the connection's typed errors, and the server's error replies.
enum TinyKVError: Error {
    case connection(GlideError)
    case server(String)
}

/// Three commands, encoded here, over one supervised, pipelined connection: any number of tasks
/// may share it, and it reconnects in the background.
struct TinyKV {
    let connection: SupervisedConnection<EpollEventLoop, SocketConnector>

    static func connect(to address: NodeAddress) async throws(TinyKVError) -> TinyKV {
        // A demo's timeout: long enough for a slow machine (a sanitizer build runs it too).
        let configuration = ConnectionConfiguration(handshake: HandshakeConfiguration(clientName: "tiny-kv"), requestTimeout: .seconds(2))
        do {
            return TinyKV(connection: try await .open(to: address, configuration: configuration))
        } catch {
            throw .connection(error)
        }
    }

    func ping() async throws(TinyKVError) -> String {
        try await reply { $0.writeRESPCommand("PING" as StaticString) }.stringBytes?.string ?? ""
    }

    func put(_ key: String, _ value: String) async throws(TinyKVError) {
        _ = try await reply { $0.writeRESPCommand("SET" as StaticString, key, value) }
    }

    func fetch(_ key: String) async throws(TinyKVError) -> String? {
        let token = try await reply { $0.writeRESPCommand("GET" as StaticString, key) }
        return token.isNull ? nil : token.stringBytes?.string
    }

    func close() async { await connection.close() }

    private func reply(_ encode: @Sendable (inout RESPCommandBuffer) -> Void) async throws(TinyKVError) -> RESPToken {
        let token: RESPToken
        do {
            token = try await connection.send(encode)
        } catch {
            throw .connection(error)
        }
        if token.type.isError { throw .server(token.stringBytes?.string ?? "error") }
        return token
    }
}

let kv = try await TinyKV.connect(to: address)
print("tiny-kv PING ->", try await kv.ping())
// Fifty tasks share the one connection; each reads back its own value.
let mismatches = await withTaskGroup(of: Bool.self) { group in
    for task in 0..<50 {
        group.addTask {
            let key = "custom-client:\(task)"
            guard (try? await kv.put(key, "value-\(task)")) != nil else { return false }
            return (try? await kv.fetch(key)) == "value-\(task)"
        }
    }
    var wrong = 0
    for await matched in group where !matched { wrong += 1 }
    return wrong
}
print("tiny-kv 50 tasks, mismatches ->", mismatches)
print("tiny-kv GET custom-client:missing ->", (try await kv.fetch("custom-client:missing")) ?? "(nil)")
await kv.close()

// MARK: The ready client over a connector of our own

let recorder = TrafficRecorder()
var configuration = GlideClientConfiguration(addresses: [address])
configuration.clientName = "recorded"
configuration.connector = recorder
let client = try await GlideClient.create(configuration)
try await client.set("custom-client:recorded", "hello")
let value: String? = try await client.get("custom-client:recorded")
print("GlideClient GET custom-client:recorded ->", value ?? "(nil)")
await client.close()

let traffic = recorder.traffic(with: address)
print("recorded: \(traffic.connections) connection, \(traffic.sentCount) bytes sent, \(traffic.receivedCount) received")
let get = "*2\r\n$3\r\nGET\r\n$22\r\ncustom-client:recorded\r\n"
print("the GET on the wire ->", traffic.sent.string.contains(get) ? get.debugDescription : "(not recorded)")
