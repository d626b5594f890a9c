import GlideBuffers
import GlideCommands
import GlideRESPCodec
import GlideRouter
import GlideTopology
import Testing

func decision(_ command: some GlideCommand) -> RoutingDecision {
    Router.decide(name: type(of: command).name, routing: type(of: command).routing, keySlots: Router.keySlots(of: command))
}

func argumentDecision(_ words: [String]) -> RoutingDecision {
    let arguments = words.map { Bytes($0) }
    let metadata = CommandTable.metadata(for: arguments)
    return Router.decide(
        name: metadata?.name ?? words[0].uppercased(), routing: metadata.map(CommandRouting.init) ?? .unknown,
        keySlots: Router.keySlots(of: arguments, metadata: metadata))
}

@Suite(.timeLimit(.minutes(2))) struct RouterDecisionTests {
    @Test func keyedCommandsGoToTheirSlot() {
        #expect(decision(GET("foo")).target == .slot(12182, replicaAllowed: true))
        #expect(decision(SET("foo", "v")).target == .slot(12182, replicaAllowed: false))
        #expect(decision(HSET("{user1000}.profile", data: [.init(field: "f", value: "v")])).target == .slot(3443, replicaAllowed: false))
        // Keys sharing a hash tag stay one request.
        #expect(decision(MGET(["{t}a", "{t}b"])).target == .slot(HashSlot.of("t"), replicaAllowed: true))
        // A non-splittable multi-key command goes to the first key's slot; the server says CROSSSLOT.
        #expect(decision(RENAME("foo", "a")).target == .slot(12182, replicaAllowed: false))
        #expect(decision(BLPOP(["a", "foo"], timeout: 1)).target == .slot(15495, replicaAllowed: false))
    }

    @Test func multiShardCommandsAcrossSlotsAreSplit() {
        #expect(decision(MGET(["a", "foo"])) == RoutingDecision(target: .splitBySlot(replicaAllowed: true), aggregation: .combineArrays))
        #expect(decision(DEL(["a", "foo"])) == RoutingDecision(target: .splitBySlot(replicaAllowed: false), aggregation: .sum))
        #expect(decision(EXISTS(["a", "foo"])).aggregation == .sum)
        #expect(decision(UNLINK(["a", "foo"])).aggregation == .sum)
        #expect(decision(TOUCH(["a", "foo"])).aggregation == .sum)
        #expect(decision(MSET(data: [.init(key: "a", value: "1"), .init(key: "foo", value: "2")])).aggregation == .allSucceeded)
        #expect(decision(WATCH(["a", "foo"])) == RoutingDecision(target: .splitBySlot(replicaAllowed: false), aggregation: .allSucceeded))
    }

    @Test func keylessCommandsFollowTheirPolicies() {
        #expect(decision(DBSIZE()) == RoutingDecision(target: .allPrimaries, aggregation: .sum))
        #expect(decision(KEYS("*")) == RoutingDecision(target: .allPrimaries, aggregation: .combineArrays))
        #expect(decision(SCRIPT.EXISTS(["abc"])) == RoutingDecision(target: .allPrimaries, aggregation: .logicalAnd))
        #expect(decision(PING()) == RoutingDecision(target: .allPrimaries, aggregation: .allSucceeded))
        #expect(decision(FLUSHALL()) == RoutingDecision(target: .allPrimaries, aggregation: .allSucceeded))
        #expect(decision(RANDOMKEY()) == RoutingDecision(target: .allPrimaries, aggregation: .firstNonNull))
        #expect(decision(INFO()) == RoutingDecision(target: .allPrimaries, aggregation: .perNode))
        #expect(
            decision(CONFIG.SET(data: [.init(parameter: "maxmemory", value: "0")]))
                == RoutingDecision(target: .allNodes, aggregation: .allSucceeded))
        #expect(decision(WAIT(numreplicas: 1, timeout: 10)) == RoutingDecision(target: .allPrimaries, aggregation: .minimum))
        #expect(decision(SLOWLOG.LEN()) == RoutingDecision(target: .allNodes, aggregation: .sum))
        #expect(decision(SLOWLOG.GET()) == RoutingDecision(target: .allNodes, aggregation: .combineArrays))
        #expect(decision(PUBSUB.NUMSUB()) == RoutingDecision(target: .allNodes, aggregation: .combineMaps))
        #expect(decision(UNWATCH()) == RoutingDecision(target: .allPrimaries, aggregation: .allSucceeded))
        #expect(decision(CONFIG.GET(["maxmemory"])).target == .randomNode(primaryOnly: true))
        #expect(decision(TIME()).target == .randomNode(primaryOnly: true))
        // A script with no keys may write: it goes to a primary.
        #expect(decision(EVAL("return redis.call('set', 'k', 'v')")).target == .randomNode(primaryOnly: true))
        #expect(decision(EVAL_RO("return 1")).target == .randomNode(primaryOnly: false))
        #expect(decision(ECHO("x")).target == .randomNode(primaryOnly: true))
        #expect(decision(PUBLISH("c", "m")).target == .randomNode(primaryOnly: true))
        #expect(decision(FUNCTION.RESTORE("payload")).target == .allPrimaries)
        #expect(decision(SWAPDB(index1: 0, index2: 1)).target == .randomNode(primaryOnly: true))
    }

    @Test func commandsGivenAsArgumentsRouteTheSame() {
        #expect(argumentDecision(["get", "foo"]) == decision(GET("foo")))
        #expect(argumentDecision(["MGET", "a", "foo"]) == decision(MGET(["a", "foo"])))
        #expect(argumentDecision(["dbsize"]) == decision(DBSIZE()))
        #expect(argumentDecision(["XREAD", "STREAMS", "foo", "0"]).target == .slot(12182, replicaAllowed: true))
        // A command the table doesn't know is routed by its first argument.
        #expect(argumentDecision(["MODULE.CMD", "foo", "x"]).target == .slot(12182, replicaAllowed: false))
        #expect(argumentDecision(["MODULE.CMD"]).target == .randomNode(primaryOnly: true))
        #expect(argumentDecision(["FUNCTION", "DELETE", "lib"]).target == .allPrimaries)
    }

    @Test func explicitRoutes() {
        let name = INFO.name
        let routing = INFO.routing
        #expect(Router.decide(name: name, routing: routing, route: .allNodes) == RoutingDecision(target: .allNodes, aggregation: .perNode))
        #expect(Router.decide(name: name, routing: routing, route: .allPrimaries)?.target == .allPrimaries)
        #expect(Router.decide(name: name, routing: routing, route: .randomNode)?.target == .randomNode(primaryOnly: false))
        #expect(Router.decide(name: name, routing: routing, route: .slotKey("foo", .replica))?.target == .slot(12182, replicaAllowed: true))
        #expect(
            Router.decide(name: name, routing: routing, route: .slotKey("foo", .primary))?.target == .slot(12182, replicaAllowed: false))
        #expect(Router.decide(name: name, routing: routing, route: .slotID(16383, .primary))?.target == .slot(16383, replicaAllowed: false))
        #expect(Router.decide(name: name, routing: routing, route: .slotID(16384, .primary)) == nil)
        #expect(Router.decide(name: name, routing: routing, route: .slotID(-1, .primary)) == nil)
        #expect(
            Router.decide(name: name, routing: routing, route: .byAddress(host: "10.0.0.1", port: 7000))?.target
                == .address(NodeAddress(host: "10.0.0.1", port: 7000)))
        #expect(Router.decide(name: DBSIZE.name, routing: DBSIZE.routing, route: .allNodes)?.aggregation == .sum)
    }

    @Test func splitsRegroupTheEncodedFramesBySlotAndKeepEachKeysPosition() throws {
        let metadata = try #require(CommandTable.metadata(named: "MGET"))
        let split = try #require(Router.splitBySlot(encoded(["MGET", "a", "foo", "{a}x", "b"]), metadata: metadata))
        #expect(split.parts.map(\.slot) == [HashSlot.of("b"), 12182, 15495])
        #expect(
            split.parts.map { split.command($0).string } == [
                "*2\r\n$4\r\nMGET\r\n$1\r\nb\r\n", "*2\r\n$4\r\nMGET\r\n$3\r\nfoo\r\n", "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$4\r\n{a}x\r\n",
            ])
        #expect(split.parts.map { Array(split.keyPositions($0)) } == [[3], [1], [0, 2]])
        #expect(split.keyCount == 4)

        let msetMetadata = try #require(CommandTable.metadata(named: "MSET"))
        let mset = try #require(Router.splitBySlot(encoded(["MSET", "a", "1", "foo", "2", "{a}z", "3"]), metadata: msetMetadata))
        #expect(
            mset.parts.map { mset.command($0).string } == [
                "*3\r\n$4\r\nMSET\r\n$3\r\nfoo\r\n$1\r\n2\r\n", "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$4\r\n{a}z\r\n$1\r\n3\r\n",
            ])
        // A value large enough to be held by reference travels whole, in its key's part.
        let large = String(repeating: "v", count: 70_000)
        let big = try #require(Router.splitBySlot(encoded(["MSET", "a", large, "foo", "2"]), metadata: msetMetadata))
        #expect(big.parts.map { big.command($0).readableBytes } == [30, 70_000 + 31])
        // An odd MSET, MSETEX (a key count and trailing options) and a malformed encoding are not split.
        #expect(Router.splitBySlot(encoded(["MSET", "a", "1", "foo"]), metadata: msetMetadata) == nil)
        let msetex = try #require(CommandTable.metadata(named: "MSETEX"))
        #expect(Router.splitBySlot(encoded(["MSETEX", "2", "a", "1", "foo", "2"]), metadata: msetex) == nil)
        var truncated = RESPCommandBuffer()
        truncated.bytes.writeString("*3\r\n$4\r\nMGET\r\n$1\r\na\r\n")
        #expect(Router.splitBySlot(truncated, metadata: metadata) == nil)
        var lying = RESPCommandBuffer()
        lying.bytes.writeString("*2\r\n$4\r\nMGET\r\n$9\r\na\r\n")
        #expect(Router.splitBySlot(lying, metadata: metadata) == nil)
    }
}

/// `words` encoded as a command.
func encoded(_ words: [String]) -> RESPCommandBuffer {
    var buffer = RESPCommandBuffer()
    buffer.writeRESPCommand(words.map { Bytes($0) })
    return buffer
}
