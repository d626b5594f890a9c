import GlideTLS
import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// Connection URLs taken apart, and the errors of the wrong ones, without a server.
@Suite(.timeLimit(.minutes(2))) struct ConnectionURLTests {
    @Test func everyPartIsRead() throws {
        let url = try ConnectionURL(
            parsing:
                "valkeys://app:s%40cr%3At@cache-1:6380,[::1]:7000,cache-3/2?client_name=api&protocol=resp2&request_timeout=500"
                + "&connection_timeout=1500&read_from=preferReplica&client_az=eu-1a&insecure=true")
        #expect(url.useTLS && url.insecure)
        #expect(
            url.addresses == [
                NodeAddress(host: "cache-1", port: 6380), NodeAddress(host: "::1", port: 7000),
                NodeAddress(host: "cache-3", port: 6379),
            ])
        #expect(url.credentials == ServerCredentials(password: "s@cr:t", username: "app"))
        #expect(url.database == 2 && url.clientName == "api" && url.protocolVersion == .resp2)
        #expect(url.requestTimeout == .milliseconds(500) && url.connectionTimeout == .milliseconds(1500))
        #expect(url.readFrom == .preferReplica && url.clientAZ == "eu-1a")
    }

    @Test func schemesDefaultsAndUnixSockets() throws {
        #expect(try ConnectionURL(parsing: "redis://localhost").addresses == [NodeAddress(host: "localhost", port: 6379)])
        #expect(try !ConnectionURL(parsing: "valkey://h").useTLS && ConnectionURL(parsing: "rediss://h").useTLS)
        // A lone user-info part is the password.
        #expect(try ConnectionURL(parsing: "redis://secret@h").credentials == ServerCredentials(password: "secret"))
        let unix = try ConnectionURL(parsing: "unix://:pw@/run/valkey.sock?db=3")
        #expect(unix.addresses == [NodeAddress.unixSocket("/run/valkey.sock")] && unix.database == 3)
        #expect(unix.credentials == ServerCredentials(password: "pw"))

        let configuration = try GlideClientConfiguration(url: "valkey://u:p@h:7001/4?request_timeout=100")
        #expect(configuration.addresses == [NodeAddress(host: "h", port: 7001)] && configuration.databaseID == 4)
        #expect(configuration.requestTimeout == .milliseconds(100) && configuration.credentials?.username == "u")
        #expect(configuration.connectionTimeout == .seconds(2), "what the URL doesn't set keeps its default")
        let cluster = try GlideClusterClientConfiguration(url: "valkey://a:7000,b:7001?read_from=azAffinity&client_az=z")
        #expect(cluster.addresses.count == 2 && cluster.readFrom == .azAffinity && cluster.clientAZ == "z")
    }

    @Test func aWrongPartIsNamedAndThePasswordNeverShows() {
        let cases: [(String, String)] = [
            ("localhost:6379", "scheme"),
            ("http://h", "scheme"),
            ("valkey://h:70000", "port"),
            ("valkey://h:abc", "port"),
            ("valkey://h/x", "database"),
            ("valkey://", "host"),
            ("valkey://[::1:6379", "host"),
            ("valkey://h?colour=blue", "option colour"),
            ("valkey://h?protocol=4", "protocol"),
            ("valkey://h?request_timeout=-1", "request_timeout"),
            ("valkey://h?insecure=true", "option insecure"),
            ("unix://relative.sock", "path"),
            ("valkey://u:hunter2%zz@h", "password"),
        ]
        for (url, part) in cases {
            let error = #expect(throws: GlideError.self, "\(url)") { try ConnectionURL(parsing: url).tlsConfiguration() }
            #expect(error?.code == .configuration)
            #expect(error?.message.contains("connection URL, \(part)") == true, "\(url): \(error?.message ?? "")")
            #expect(error?.message.contains("hunter2") == false)
        }
        let cluster = #expect(throws: GlideError.self) { try GlideClusterClientConfiguration(url: "unix:///run/v.sock") }
        #expect(cluster?.code == .configuration)
        let configuration = try? GlideClientConfiguration(url: "valkey://app:hunter2@h")
        #expect(configuration.map { "\($0)".contains("hunter2") } == false)
        #expect(configuration.map { String(reflecting: $0).contains("hunter2") } == false)
    }
}
