import GlideTestSupport
import Testing

/// `Examples/distributed-lock` (`make lock-demo`) against real servers: a worker that stalls past
/// its lock's TTL can neither write with its old fencing token nor release its successor's lock.
@Suite(.timeLimit(.minutes(5))) struct DistributedLockExampleTests {
    static func expectTheStory(_ output: String, label: String, releasedBy release: String) {
        let lines = output.split(separator: "\n").map(String.init)
        let expected = [
            "\(label): releasing with \(release)",
            "\(label): A acquired the lock with fence 1",
            "\(label): B while A holds it -> refused",
            "\(label): B acquired the lock with fence 2",
            "\(label): B wrote with fence 2 -> accepted",
            "\(label): A wrote with fence 1 -> rejected (stale fence)",
            "\(label): A released -> false (the lock is B's)",
            "\(label): B released -> true",
            "\(label): the store holds from B",
        ]
        #expect(lines == expected, "\(output)")
    }

    @Test(arguments: ServerFlavor.allCases) func aStalledWorkerCantWriteOrReleaseAfterItsLockExpired(_ flavor: ServerFlavor) async throws {
        let server = try await flavor.server()
        let example = try ServerBinaries.product("distributed-lock")
        let output = try await GlideCLITests.run(example, ["127.0.0.1", String(server.port)])
        // Valkey 9 releases with DELIFEQ; older servers, which lack it, with a script.
        let identity = flavor == .valkey ? ServerBinaries.mainServer : ServerBinaries.redisFlavorServer
        let deleteIfEqual = identity.isValkey && identity.version >= ServerVersion("9.0")
        Self.expectTheStory(output, label: "standalone", releasedBy: deleteIfEqual ? "DELIFEQ" : "a script")
    }

    @Test func theSameLockWorksOnACluster() async throws {
        let cluster = try await SharedCluster.valkey()
        let example = try ServerBinaries.product("distributed-lock")
        let output = try await GlideCLITests.run(example, ["127.0.0.1", String(cluster.nodes[0].server.port), "--cluster"])
        let deleteIfEqual = ServerBinaries.mainServer.isValkey && ServerBinaries.mainServer.version >= ServerVersion("9.0")
        Self.expectTheStory(output, label: "cluster", releasedBy: deleteIfEqual ? "DELIFEQ" : "a script")
    }
}
