import Glide

/// `-t pubsub`: one publisher client sends `count` messages of `value` to one channel from
/// `tasks` tasks at once; one subscriber client receives them. The rate is messages received per
/// second, from the first publish to the last message in.
func runPubSub(publisher: GlideClient, address: NodeAddress, value: Bytes, count: Int, tasks: Int, csv: Bool) async throws {
    let channel = "bench:pubsub"
    var configuration = GlideClientConfiguration(addresses: [address])
    configuration.requestTimeout = .seconds(10)
    configuration.clientName = "glide-benchmark-sub"
    // Room for every message: the benchmark measures delivery, not the drop policy.
    configuration.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(exact: [channel]), bufferCapacity: count + 1)
    let subscriber = try await GlideClient.create(configuration)
    let messages = subscriber.pubsubMessages()
    let cpuStart = cpuSeconds()
    let start = nanoseconds()
    let receiving = Task {
        var received = 0
        for await _ in messages {
            received += 1
            if received == count { break }
        }
        return received
    }
    let perTask = (count + tasks - 1) / tasks
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            let sends = max(0, min(count, (task + 1) * perTask) - task * perTask)
            group.addTask { for _ in 0..<sends { _ = try await publisher.publish(value, to: channel) } }
        }
        try await group.waitForAll()
    }
    let received = await receiving.value
    let seconds = Double(nanoseconds() - start) / 1e9
    let rate = Double(received) / seconds
    let cpuPer100k = (cpuSeconds() - cpuStart) / Double(max(received, 1)) * 100_000
    if csv {
        print("\"PUBSUB\",\"\(String(format: "%.2f", rate))\",\"0\",\"0\",\"\(String(format: "%.3f", cpuPer100k))\"")
    } else {
        print(
            "PUBSUB: \(received) of \(count) messages, \(String(format: "%.2f", rate)) messages per second, "
                + "cpu=\(String(format: "%.3f", cpuPer100k)) s/100k (publisher and subscriber)")
    }
    await subscriber.close()
}
