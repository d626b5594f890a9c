import GlideTransport
import Testing

@testable import GlideClient
@testable import GlideConnection

/// The sentinels' replies and notices as the client reads them, and the primary they name in
/// the election. No sockets.
@Suite(.timeLimit(.minutes(2))) struct SentinelRepliesTests {
    let a = NodeAddress(host: "10.0.0.1", port: 6379)
    let b = NodeAddress(host: "10.0.0.2", port: 6379)

    @Test func thePrimaryAddressIsReadAndANullMeansNoSuchPrimary() {
        #expect(
            SentinelReplies.primaryAddress(reply("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n")) == NodeAddress(host: "127.0.0.1", port: 6380))
        #expect(SentinelReplies.primaryAddress(reply("*-1\r\n")) == nil)
        #expect(SentinelReplies.primaryAddress(reply("_\r\n")) == nil)
        #expect(SentinelReplies.primaryAddress(reply("*2\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n")) == nil)
    }

    @Test func replicasThatAreDownOrDisconnectedAreLeftOut() {
        // RESP3 maps, as valkey 9 sends them; the second is flagged down.
        let resp3 = reply(
            "*3\r\n"
                + "%3\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n7001\r\n$5\r\nflags\r\n$5\r\nslave\r\n"
                + "%3\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n7002\r\n$5\r\nflags\r\n$12\r\nslave,s_down\r\n"
                + "%3\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n7003\r\n$5\r\nflags\r\n$18\r\nslave,disconnected\r\n")
        #expect(SentinelReplies.replicas(resp3) == [NodeAddress(host: "127.0.0.1", port: 7001)])
        // RESP2: flat arrays of names and values.
        let resp2 = reply("*1\r\n*6\r\n$2\r\nip\r\n$8\r\n10.0.0.9\r\n$4\r\nport\r\n$4\r\n7004\r\n$5\r\nflags\r\n$5\r\nslave\r\n")
        #expect(SentinelReplies.replicas(resp2) == [NodeAddress(host: "10.0.0.9", port: 7004)])
        #expect(SentinelReplies.replicas(reply("*0\r\n")).isEmpty)
    }

    @Test func aSwitchNoticeNamesTheNewPrimaryOfItsOwnNameOnly() {
        #expect(
            SentinelReplies.switchedPrimary("mymaster 127.0.0.1 6379 127.0.0.1 6380", primaryName: "mymaster")
                == NodeAddress(host: "127.0.0.1", port: 6380))
        #expect(SentinelReplies.switchedPrimary("other 127.0.0.1 6379 127.0.0.1 6380", primaryName: "mymaster") == nil)
        #expect(SentinelReplies.switchedPrimary("mymaster 127.0.0.1 6379", primaryName: "mymaster") == nil)
    }

    @Test func anOlderSentinelsRefusalOfTheNewSpellingIsRecognised() {
        #expect(SentinelReplies.isUnknownSubcommand(reply("-ERR unknown subcommand 'GET-PRIMARY-ADDR-BY-NAME'. Try SENTINEL HELP.\r\n")))
        #expect(!SentinelReplies.isUnknownSubcommand(reply("-NOAUTH Authentication required.\r\n")))
        #expect(!SentinelReplies.isUnknownSubcommand(reply("*-1\r\n")))
    }

    @Test func theDeclaredPrimaryWinsWhileBothNodesSayTheyArePrimaries() {
        var topology = StandaloneTopology(addresses: [a, b])
        topology.connected(0, role: "master", zone: nil)
        topology.connected(1, role: "replica", zone: nil)
        _ = topology.roleReported(1, .replica(of: a))
        #expect(!elected(&topology))
        // A plain sentinel failover: b promoted; a still says it is a primary until the
        // sentinels convert it, which takes seconds. Without the sentinels a tie keeps a.
        _ = topology.roleReported(1, .primary(replicas: []))
        #expect(!elected(&topology))
        #expect(topology.declare(b) == 1)
        #expect(elected(&topology))
        #expect(topology.primary == 1)
    }

    @Test func aDeclaredPrimaryThatSaysItIsAReplicaIsOutvotedByTheNodes() {
        var topology = StandaloneTopology(addresses: [a, b])
        topology.connected(0, role: "master", zone: nil)
        topology.connected(1, role: "replica", zone: nil)
        _ = topology.declare(a)
        // A coordinated failover: a demoted itself before the sentinels said so.
        _ = topology.roleReported(0, .replica(of: b))
        _ = topology.roleReported(1, .primary(replicas: [a]))
        #expect(elected(&topology))
        #expect(topology.primary == 1)
    }

    @Test func aDeclaredPrimaryNotKnownYetIsAddedAndTakesWritesBeforeItConnects() {
        var topology = StandaloneTopology(addresses: [a])
        topology.connected(0, role: "master", zone: nil)
        let index = topology.declare(b)
        #expect(index == 1)
        #expect(elected(&topology))
        #expect(topology.nodes[topology.primary].address == b)
    }
}
