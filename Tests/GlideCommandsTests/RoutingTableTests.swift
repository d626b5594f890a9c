import GlideCommands
import Testing

func metadata(_ arguments: [String]) throws -> (CommandMetadata, [Int]) {
    let bytes = arguments.map { Bytes($0) }
    let found = try #require(CommandTable.metadata(for: bytes), "no metadata for \(arguments)")
    return (found, found.keyIndices(in: bytes))
}

@Suite(.timeLimit(.minutes(2))) struct RoutingTableTests {
    @Test func getHasOneKeyAtPositionOne() throws {
        let (get, keys) = try metadata(["GET", "k"])
        #expect(keys == [1])
        #expect(get.isReadOnly && !get.isWrite)
        #expect(get.requestPolicy == .none && get.responsePolicy == .none)
    }

    @Test func msetKeysAreEverySecondArgument() throws {
        let (mset, keys) = try metadata(["MSET", "a", "1", "b", "2", "c", "3"])
        #expect(keys == [1, 3, 5])
        #expect(mset.isWrite)
        #expect(mset.requestPolicy == .multiShard)
    }

    @Test func evalKeysComeFromNumkeys() throws {
        #expect(try metadata(["EVAL", "return 1", "2", "k1", "k2", "arg"]).1 == [3, 4])
        #expect(try metadata(["EVAL", "return 1", "0", "arg"]).1 == [])
        #expect(try metadata(["FCALL", "f", "1", "k", "a"]).1 == [3])
        #expect(try metadata(["ZUNIONSTORE", "dest", "2", "a", "b", "WEIGHTS", "1", "2"]).1 == [1, 3, 4])
    }

    @Test func xreadKeysFollowTheStreamsKeyword() throws {
        let (xread, keys) = try metadata(["XREAD", "COUNT", "2", "BLOCK", "10", "STREAMS", "s1", "s2", "0", "$"])
        #expect(keys == [6, 7])
        #expect(xread.isBlocking && xread.isReadOnly)
        #expect(try metadata(["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]).1 == [5])
    }

    @Test func aggregationPolicies() throws {
        let dbsize = try #require(CommandTable.metadata(named: "DBSIZE"))
        #expect(dbsize.requestPolicy == .allShards && dbsize.responsePolicy == .aggregateSum)
        let keys = try #require(CommandTable.metadata(named: "keys"))
        #expect(keys.requestPolicy == .allShards)
        let scriptExists = try #require(CommandTable.metadata(named: "SCRIPT EXISTS"))
        #expect(scriptExists.responsePolicy == .aggregateLogicalAnd)
        let ping = try #require(CommandTable.metadata(named: "PING"))
        #expect(ping.requestPolicy == .allShards)
        let flushall = try #require(CommandTable.metadata(named: "FLUSHALL"))
        #expect(flushall.requestPolicy == .allShards && flushall.responsePolicy == .allSucceeded)
        let randomkey = try #require(CommandTable.metadata(named: "RANDOMKEY"))
        #expect(randomkey.responsePolicy == .special)
    }

    @Test func subcommandsAreFoundThroughTheirContainer() throws {
        let (kill, _) = try metadata(["client", "kill", "ID", "5"])
        #expect(kill.name == "CLIENT KILL")
        let (objectEncoding, keys) = try metadata(["OBJECT", "ENCODING", "k"])
        #expect(objectEncoding.name == "OBJECT ENCODING" && keys == [2])
        #expect(try metadata(["COMMAND"]).0.name == "COMMAND")
        #expect(CommandTable.metadata(for: [Bytes("NO-SUCH-COMMAND")]) == nil)
    }

    @Test func blpopKeysRunToTheSecondLastArgument() throws {
        #expect(try metadata(["BLPOP", "a", "b", "c", "0"]).1 == [1, 2, 3])
        #expect(try metadata(["RENAME", "a", "b"]).1 == [1, 2])
        // MIGRATE's empty key placeholder is not a key once KEYS names them.
        #expect(try metadata(["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"]).1 == [7, 8])
        #expect(try metadata(["MIGRATE", "h", "1", "k", "0", "5"]).1 == [3])
    }

    @Test func keynumKeysFollowTheirStep() throws {
        // MSETEX numkeys key value [key value ...]: every other argument is a key.
        #expect(try metadata(["MSETEX", "2", "a", "1", "b", "2", "EX", "10"]).1 == [2, 4])
        #expect(try metadata(["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]).1 == [1, 3, 4])
        #expect(try metadata(["EVAL", "return 1", "0", "x"]).1 == [])
    }

    @Test func sortStoreDestinationIsAKey() throws {
        #expect(try metadata(["SORT", "src", "BY", "store", "LIMIT", "0", "5", "STORE", "dst"]).1 == [1, 8])
        #expect(try metadata(["SORT", "src", "GET", "#", "ALPHA"]).1 == [1])
        #expect(try metadata(["SORT_RO", "src", "ALPHA"]).1 == [1])
    }

    @Test func tableCoversTheSnapshot() {
        #expect(CommandTable.all.count > 350)
        #expect(CommandTable.snapshotServer.hasPrefix("valkey 9.1"))
        #expect(CommandTable.all.allSatisfy { !$0.since.isEmpty && !$0.group.isEmpty })
    }
}
