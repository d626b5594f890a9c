import Foundation
import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ClusterRoutingTests {
    /// The node whose primary serves `key`, asked directly: only the owner answers without MOVED.
    func owner(of key: String, in cluster: TestCluster) async throws -> TestCluster.Node {
        try await cluster.primary(forSlot: HashSlot.of(key))
    }

    @Test func keysReachTheNodeThatOwnsTheirSlotOnEveryShard() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<30).map { "\(prefix):\($0)" }
        for key in keys { try await client.set(key, "v-\(key)") }
        var owners = Set<String>()
        for key in keys {
            let node = try await owner(of: key, in: cluster)
            owners.insert(node.id)
            // The owner holds the value: it was written there, not somewhere that redirected.
            #expect(try await cluster.command(node, ["GET", key]).stringValue == "v-\(key)")
            #expect(try await client.get(key) == "v-\(key)")
        }
        #expect(owners.count == 3, "30 keys spread over all three shards")
        await client.close()
    }

    @Test func hashTagsKeepKeysTogether() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        try await client.execute(MSET(data: [.init(key: tag + "a", value: "1"), .init(key: tag + "b", value: "2")]))
        let node = try await owner(of: tag + "a", in: cluster)
        #expect(try await owner(of: tag + "b", in: cluster).id == node.id)
        // Both keys live on one node: a multi-key command needs no split there.
        #expect(try await cluster.command(node, ["MGET", tag + "a", tag + "b"]).arrayValue?.compactMap(\.stringValue) == ["1", "2"])
        #expect(try await client.execute(RENAME(tag + "a", tag + "c")) == ())
        #expect(try await client.get(tag + "c") == "1")
        await client.close()
    }

    @Test func crossSlotMultiKeyCommandsAreSplitAndAnsweredInKeyOrder() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<12).map { "\(prefix):k\($0)" }
        #expect(Set(keys.map { HashSlot.of($0) }).count > 3)
        try await client.execute(MSET(data: keys.enumerated().map { .init(key: $1, value: "value\($0)") }))
        let missing = prefix + ":missing"
        let values = try await client.execute(MGET(keys + [missing]))
        #expect(values.map { $0?.string } == keys.indices.map { "value\($0)" } + [nil])
        #expect(try await client.execute(EXISTS(keys + [missing, keys[0]])) == 13)
        #expect(try await client.execute(TOUCH(keys)) == 12)
        #expect(try await client.execute(DEL(Array(keys.prefix(6)) + [missing])) == 6)
        #expect(try await client.execute(UNLINK(keys)) == 6)
        #expect(try await client.execute(EXISTS(keys)) == 0)
        // The same through customCommand.
        _ = try await client.customCommand(["MSET", keys[0], "a", keys[1], "b", keys[2], "c"])
        let reply = try await client.customCommand(["MGET", keys[2], keys[0], keys[1]])
        #expect(reply.singleValue?.arrayValue?.compactMap(\.stringValue) == ["c", "a", "b"])
        // A multi-key command that can't be split gets the server's CROSSSLOT error, and the
        // client stays usable.
        let error = await #expect(throws: GlideError.self) { try await client.execute(RENAME(keys[0], keys[5])) }
        #expect(error?.serverCode == "CROSSSLOT")
        #expect(try await client.get(keys[0]) == "a")
        await client.close()
    }

    @Test func serverWideCommandsCombineAcrossPrimaries() async throws {
        let cluster = try await SharedCluster.valkey()
        let client: GlideClusterClient
        if ServerBinaries.mainServerHasClusterDatabases {
            // A database of its own (Valkey 9 clusters have several): other tests write to 0 meanwhile.
            client = try await cluster.client { $0.databaseID = 5 }
            try await client.flushdb()
            for index in 0..<30 { try await client.set("dbsize:\(index)", "v") }
            #expect(try await client.execute(DBSIZE()) == 30)
            var perPrimary: [Int] = []
            for primary in try await cluster.primaries() {
                let reply = try await client.customCommand(
                    ["DBSIZE"], route: .byAddress(host: primary.address.host, port: primary.address.port))
                perPrimary.append(reply.singleValue?.intValue ?? -1)
            }
            #expect(perPrimary.reduce(0, +) == 30 && perPrimary.allSatisfy { $0 > 0 }, "\(perPrimary)")
        } else {
            // A cluster of one database: the client refuses another at create, typed, and the
            // sum across primaries can't be isolated from other tests' keys.
            let refused = await #expect(throws: GlideError.self) { try await cluster.client { $0.databaseID = 5 } }
            #expect(refused?.code == .configuration, "\(String(describing: refused))")
            print("\(ServerBinaries.mainServer.version): no numbered databases in cluster mode; databaseID 5 refused at create")
            client = try await cluster.client()
            #expect(try await client.execute(DBSIZE()) >= 0)
        }
        #expect(try await client.ping() == "PONG")
        // INFO has a reply per node: asked for as one value it is refused before sending.
        let error = await #expect(throws: GlideError.self) { try await client.execute(INFO()) }
        #expect(error?.code == .routing)
        let info = try await client.execute(INFO(sections: [InfoSection.server]), route: .allPrimaries)
        let perNode = try #require(info.perNodeValues)
        #expect(perNode.count == 3)
        #expect(perNode.values.allSatisfy { $0.contains("tcp_port:") })
        let everyNode = try await client.customCommand(["INFO", "replication"], route: .allNodes)
        let roles = try #require(everyNode.perNodeValues).values.compactMap(\.stringValue)
        #expect(roles.filter { $0.contains("role:master") }.count == 3)
        #expect(roles.filter { $0.contains("role:slave") }.count == 3)
        await client.close()
    }

    @Test func explicitRoutesReachTheNodesTheyName() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let ids = Set(cluster.nodes.map(\.id))
        let primaryIDs = Set(try await cluster.primaries().map(\.id))

        let all = try #require(try await client.customCommand(["CLUSTER", "MYID"], route: .allNodes).perNodeValues)
        #expect(Set(all.values.compactMap(\.stringValue)) == ids)
        let primaries = try #require(try await client.customCommand(["CLUSTER", "MYID"], route: .allPrimaries).perNodeValues)
        #expect(Set(primaries.values.compactMap(\.stringValue)) == primaryIDs)
        let random = try #require(try await client.customCommand(["CLUSTER", "MYID"], route: .randomNode).singleValue?.stringValue)
        #expect(ids.contains(random))

        let key = SharedServer.uniqueKey()
        let owner = try await owner(of: key, in: cluster)
        let replica = try #require(try await cluster.replicas(of: owner).first)
        let myID = CLUSTER.MYID()
        #expect(try await client.execute(myID, route: .slotKey(BulkString(key), .primary)).singleValue == owner.id)
        #expect(try await client.execute(myID, route: .slotKey(BulkString(key), .replica)).singleValue == replica.id)
        #expect(try await client.execute(myID, route: .slotID(Int(HashSlot.of(key)), .primary)).singleValue == owner.id)
        #expect(try await client.execute(myID, route: .byAddress(replica.address)).singleValue == replica.id)

        // A replica route serves a read from the replica, though this client reads from
        // primaries otherwise. STRLEN is a read no other cluster test sends: each node's
        // command stats show who served it.
        try await client.set(key, "replicated")
        _ = try await client.execute(WAIT(numreplicas: 1, timeout: 2000), route: .slotKey(BulkString(key), .primary))
        func strlenCalls(_ node: TestCluster.Node) async throws -> Int {
            let stats = try await cluster.command(node, ["INFO", "commandstats"]).stringValue ?? ""
            let line = stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_strlen:") }
            return line.flatMap { $0.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) } } ?? 0
        }
        let (ownerBefore, replicaBefore) = (try await strlenCalls(owner), try await strlenCalls(replica))
        #expect(try await client.execute(STRLEN(key), route: .slotKey(BulkString(key), .replica)).singleValue == 10)
        #expect(try await strlenCalls(replica) == replicaBefore + 1)
        #expect(try await strlenCalls(owner) == ownerBefore)
        #expect(try await client.customCommand(["STRLEN", key], route: .slotKey(BulkString(key), .replica)).singleValue?.intValue == 10)
        #expect(try await strlenCalls(replica) == replicaBefore + 2)
        // Without a route, this client's reads stay on the primary.
        #expect(try await client.customCommand(["STRLEN", key]).singleValue?.intValue == 10)
        #expect(try await strlenCalls(owner) == ownerBefore + 1)

        let unknown = await #expect(throws: GlideError.self) {
            try await client.customCommand(["PING"], route: .byAddress(host: "127.0.0.1", port: 1))
        }
        #expect(unknown?.code == .routing)
        let outOfRange = await #expect(throws: GlideError.self) { try await client.execute(myID, route: .slotID(16384, .primary)) }
        #expect(outOfRange?.code == .routing)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func clusterTransactionsRunInOneSlotAndRefuseCrossSlotKeys() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        let tag = "{\(SharedServer.uniqueKey())}"
        let results = try await client.exec(ClusterTransaction().set(tag + "a", "1").incr(tag + "n").get(tag + "a"))
        #expect(results?.count == 3)
        #expect(results?[1].intValue == 1)
        #expect(results?[2].stringValue == "1")

        let lonely = SharedServer.uniqueKey()
        let crossing = ClusterTransaction().set(tag + "b", "x").set(lonely, "y")
        let error = await #expect(throws: GlideError.self) { try await client.exec(crossing) }
        #expect(error?.code == .routing)
        #expect(error?.message.contains("slot \(HashSlot.of(lonely))") == true)
        #expect(error?.message.contains("slot \(HashSlot.of(tag + "b"))") == true)
        // Nothing was sent.
        #expect(try await client.get(tag + "b") == nil)
        #expect(try await client.get(lonely) == nil)
        await client.close()
    }

    @Test func manyKeysAcrossThousandsOfSlotsStayWithinTheInFlightLimit() async throws {
        let cluster = try await SharedCluster.valkey()
        // 4,000 keys over ~3,900 slots split into ~3,900 requests: more than the in-flight limit
        // of every connection, had they all been sent at once.
        // The subject is the in-flight limit, not speed: 3,900 requests need not fit the default
        // 250 ms on a machine busy with other tests (they once didn't), and under the sanitizers the
        // whole MGET once took longer than 10 s: an upper bound, scaled as the support scales them.
        let client = try await cluster.client {
            $0.inflightRequestsLimit = 200
            $0.requestTimeout = TestTiming.bound(.seconds(10))
        }
        let prefix = SharedServer.uniqueKey()
        let keys = (0..<4000).map { "\(prefix):\($0)" }
        try await client.execute(MSET(data: keys.map { .init(key: $0, value: $0) }))
        let values = try await client.execute(MGET(keys))
        #expect(values.map { $0?.string } == keys)
        #expect(try await client.execute(DEL(keys)) == 4000)
        await client.close()
    }

    @Test func commandsThatWouldMisleadACallerAreRefusedBeforeSending() async throws {
        let cluster = try await SharedCluster.valkey()
        let client = try await cluster.client()
        // SELECT would switch one node's shared connection under every caller routed there.
        for attempt in 0..<4 {
            let error = await #expect(throws: GlideError.self) {
                switch attempt {
                case 0: _ = try await client.execute(SELECT(index: 1))
                case 1: _ = try await client.customCommand(["select", "1"])
                case 2: _ = try await client.exec(ClusterTransaction().set("{s}a", "1").add(SELECT(index: 1)))
                default: _ = try await client.exec(ClusterTransaction().customCommand(["SELECT", "1"]))
                }
            }
            #expect(error?.code == .configuration)
        }
        // SCAN's cursor is one node's: without a route it is refused, typed or not.
        let typed = await #expect(throws: GlideError.self) { try await client.execute(SCAN("0")) }
        #expect(typed?.code == .routing)
        let custom = await #expect(throws: GlideError.self) { try await client.customCommand(["SCAN", "0"]) }
        #expect(custom?.code == .routing)
        let node = try #require(cluster.nodes.first)
        let page = try await client.execute(SCAN("0", count: 10), route: .byAddress(node.address))
        #expect(page.singleValue != nil)
        // A node's error fails a per-node request, as a typed one does.
        let perNode = await #expect(throws: GlideError.self) {
            try await client.customCommand(["CONFIG", "GET"], route: .allPrimaries)
        }
        #expect(perNode?.code == .server)
        #expect(try await client.ping() == "PONG")
        await client.close()
    }

    @Test func creationFailsClearlyForNonClusterAndUnreachableSeeds() async throws {
        let standalone = try await SharedServer.valkey()
        let notCluster = await #expect(throws: GlideError.self) {
            try await GlideClusterClient.create(GlideClusterClientConfiguration(addresses: [standalone.address]))
        }
        #expect(notCluster?.code == .configuration)
        let refusing = try FreePort.refusing()
        let port = refusing.port
        let unreachable = await #expect(throws: GlideError.self) {
            try await GlideClusterClient.create(GlideClusterClientConfiguration(addresses: [NodeAddress(host: "127.0.0.1", port: port)]))
        }
        #expect(unreachable?.code == .connectionFailed)
        withExtendedLifetime(refusing) {}
        let invalid = await #expect(throws: GlideError.self) {
            try await GlideClusterClient.create(GlideClusterClientConfiguration(addresses: []))
        }
        #expect(invalid?.code == .configuration)
    }
}
