import GlideBuffers
import Testing

@testable import GlideClient

/// `MONITOR` lines as servers write them, read back; anything else is refused, never a crash.
@Suite struct MonitorLineTests {
    @Test func aLineGivesItsTimeDatabaseClientAndArguments() throws {
        let line = try #require(MonitorLine(parsing: Bytes(#"1700000000.123456 [3 127.0.0.1:52000] "SET" "key" "a value""#)))
        #expect(line.timestamp == 1_700_000_000.123456)
        #expect(line.database == 3)
        #expect(line.client == "127.0.0.1:52000")
        #expect(line.arguments == ["SET", "key", "a value"].map { Bytes($0) })
        #expect(line.command == "SET")
    }

    @Test func escapesAreUndoneAndClientsOfEveryKindAreRead() throws {
        let escaped = try #require(MonitorLine(parsing: Bytes(#"1.5 [0 lua] "set" "q\"uote\\back\n\r\t\a\b" "\x00\xff\x7F""#)))
        #expect(escaped.client == "lua")
        #expect(escaped.arguments[1] == Bytes("q\"uote\\back\n\r\t\u{07}\u{08}"))
        #expect(escaped.arguments[2] == Bytes([0x00, 0xFF, 0x7F]))
        #expect(try #require(MonitorLine(parsing: Bytes(#"2.0 [0 [::1]:6379] "PING""#))).client == "[::1]:6379")
        #expect(try #require(MonitorLine(parsing: Bytes(#"2.0 [1 unix:/tmp/valkey.sock] "PING""#))).client == "unix:/tmp/valkey.sock")
        // An empty argument is an argument.
        #expect(try #require(MonitorLine(parsing: Bytes(#"2.0 [0 lua] "SET" """#))).arguments == [Bytes("SET"), Bytes("")])
    }

    @Test func whatIsNotALineIsRefused() {
        for text in [
            "OK", "", "1.5", "1.5 [0 x]", "x [0 c] \"GET\"", "1.5 [a c] \"GET\"", "1.5 [0 c] GET", "1.5 [0 c] \"GET",
            "1.5 [0 c] \"G\\x4\"", "1.5 [0 c] \"G\\", "1.5 []", "1.5 ] \"A\"", "1.5 [0 c \"A\"",
        ] {
            #expect(MonitorLine(parsing: Bytes(text)) == nil, "\(text)")
        }
    }

    @Test func randomBytesNeverCrashTheReaderAndWhatItReadsIsWrittenBackTheSame() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"0123456789. []"\xnab:lu"#.utf8) + [0, 10, 0xFF]
        var read = 0
        let valid = Array(#"1700000000.5 [0 127.0.0.1:52000] "SET" "k\x00" "a \"b\"""#.utf8)
        for round in 0..<20_000 {
            // Half made of the lines' own characters, half a real line with a few bytes changed.
            var bytes = (0..<Int.random(in: 0..<40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            if round % 2 == 0 {
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
                }
            }
            guard let line = MonitorLine(parsing: Bytes(bytes)) else { continue }
            read += 1
            #expect(MonitorLine(parsing: Bytes(line.description)) == line, "\(bytes)")
        }
        // And lines made to be lines, with every kind of byte in their arguments.
        for _ in 0..<2_000 {
            let arguments = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                Bytes((0..<Int.random(in: 0..<12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            let line = MonitorLine(timestamp: 1_700_000_000.25, database: 2, client: "10.0.0.1:6379", arguments: arguments)
            #expect(MonitorLine(parsing: Bytes(line.description)) == line, "\(line)")
        }
        print("monitor lines: \(read) of 20000 random byte strings read as lines")
    }
}
