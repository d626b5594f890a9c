import Glide
import GlideTestSupport
import Testing

/// Every entry point of both clients and of their dedicated connections goes through the one
/// request pipeline: each request it sends is observed exactly once (one span, one
/// `glide.requests`), under the operation's name.
@Suite(.timeLimit(.minutes(5))) struct EntryPointObservationTests {
    /// Runs `body` and returns the names of the spans it made.
    static func spans(_ recorder: Recorder, _ body: () async throws -> Void) async throws -> [String] {
        let before = recorder.spans.count
        try await body()
        let spans = Array(recorder.spans.dropFirst(before))
        #expect(spans.allSatisfy { $0.ended })
        #expect(recorder.count("glide.requests") == recorder.spans.count)
        return spans.map(\.name)
    }

    @Test func everyStandaloneEntryPointIsObservedOnce() async throws {
        let server = try await SharedServer.valkey()
        let recorder = Recorder()
        let client = try await server.client { $0.observability = recorder.hooks }
        let key = SharedServer.uniqueKey()

        #expect(try await Self.spans(recorder) { try await client.set(key, "1") } == ["SET"])
        #expect(try await Self.spans(recorder) { _ = try await client.execute(GET(key), readFrom: .primary) } == ["GET"])
        #expect(try await Self.spans(recorder) { _ = try await client.customCommand(["GET", key]) } == ["GET"])
        var batch = Batch(isAtomic: false)
        batch.add(GET(key))
        batch.add(GET(key))
        #expect(try await Self.spans(recorder) { _ = try await client.exec(batch) } == ["PIPELINE"])
        #expect(try await Self.spans(recorder) { _ = try await client.exec(Transaction().incr(key)) } == ["MULTI"])
        // A script the server doesn't have yet is two requests (the digest, refused, then the
        // code); then one.
        let script = Script("return redis.call('GET', KEYS[1]) .. ARGV[1] .. '\(key)'")
        #expect(
            try await Self.spans(recorder) { _ = try await client.invokeScript(script, keys: [key], args: ["x"]) } == ["EVALSHA", "EVAL"])
        #expect(try await Self.spans(recorder) { _ = try await client.invokeScript(script, keys: [key], args: ["x"]) } == ["EVALSHA"])
        // A server error is observed once too, as such.
        #expect(try await Self.spans(recorder) { _ = try? await client.customCommand(["NOSUCHCOMMAND"]) } == ["NOSUCHCOMMAND"])
        #expect(recorder.count("glide.requests", ["outcome": "server_error"]) == 2)  // the refused digest, and this
        let names = try await Self.spans(recorder) {
            try await client.withDedicatedConnection { connection in
                try await connection.watch([key])
                _ = try await connection.customCommand(["GET", key])
                var update = Batch(isAtomic: true)
                update.add(SET(key, "2"))
                _ = try await connection.exec(update)
            }
        }
        #expect(names == ["WATCH", "GET", "MULTI"])
        await client.close()
    }

    @Test func everyClusterEntryPointIsObservedOnce() async throws {
        let cluster = try await SharedCluster.valkey()
        let recorder = Recorder()
        let client = try await cluster.client { $0.observability = recorder.hooks }
        let key = SharedServer.uniqueKey()

        #expect(try await Self.spans(recorder) { try await client.set(key, "1") } == ["SET"])
        #expect(
            try await Self.spans(recorder) { _ = try await client.execute(GET(key), route: .slotKey(BulkString(key), .primary)) } == ["GET"]
        )
        #expect(try await Self.spans(recorder) { _ = try await client.execute(DBSIZE(), route: .allPrimaries) } == ["DBSIZE"])
        #expect(try await Self.spans(recorder) { _ = try await client.customCommand(["GET", key]) } == ["GET"])
        #expect(try await Self.spans(recorder) { _ = try await client.mget(["\(key)a", "\(key)b", "\(key)c"]) } == ["MGET"])
        var batch = ClusterBatch(isAtomic: false)
        batch.add(GET(key))
        batch.add(GET("\(key)-other"))
        #expect(try await Self.spans(recorder) { _ = try await client.exec(batch) } == ["PIPELINE"])
        let script = Script("return 'cluster-\(key)'")
        #expect(try await Self.spans(recorder) { _ = try await client.invokeScript(script, route: .randomNode) } == ["EVALSHA", "EVAL"])
        let names = try await Self.spans(recorder) {
            try await client.withDedicatedConnection(forKey: key) { connection in
                _ = try await connection.customCommand(["GET", key])
            }
        }
        #expect(names == ["GET"])
        await client.close()
    }
}
