// A small chat: one client subscribes to a room and to every room's announcements, another
// publishes to them, and the subscriber prints what arrives, then unsubscribes and closes.
// Usage: pubsub [host] [port]
import Glide

let arguments = CommandLine.arguments
let host = arguments.count > 1 ? arguments[1] : "localhost"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 6379 : 6379
let address = NodeAddress(host: host, port: port)

// Subscriptions given at configuration time are made as the client connects, and again after
// every reconnection.
var configuration = GlideClientConfiguration(addresses: [address])
configuration.clientName = "chat-subscriber"
configuration.pubsub = PubSubConfiguration(subscriptions: PubSubSubscriptions(exact: ["room:lobby"], pattern: ["announce:*"]))
let subscriber = try await GlideClient.create(configuration)
var publisherConfiguration = GlideClientConfiguration(addresses: [address])
publisherConfiguration.clientName = "chat-publisher"
let publisher = try await GlideClient.create(publisherConfiguration)

let lines = [("room:lobby", "ada: hello, lobby"), ("room:lobby", "grace: hi ada"), ("announce:maintenance", "restart at 02:00")]
let reader = Task {
    var seen = 0
    for await message in subscriber.pubsubMessages() {
        let via = message.patternName.map { " (matched \($0))" } ?? ""
        print("[\(message.channelName)]\(via) \(message.message)")
        seen += 1
        if seen == lines.count + 1 { break }
    }
}

for (channel, text) in lines {
    let receivers = try await publisher.publish(text, to: channel)
    print("published to \(channel): \(receivers) receiver(s)")
}

// A room joined at run time.
try await subscriber.subscribe(["room:games"])
_ = try await publisher.publish("linus: anyone for chess?", to: "room:games")
await reader.value

let subscriptions = await subscriber.getSubscriptions()
print("subscribed to", subscriptions.actual.exact.sorted(), "and patterns", subscriptions.actual.pattern.sorted())
try await subscriber.unsubscribe()
print("after unsubscribe, the lobby has \(try await publisher.publish("anyone?", to: "room:lobby")) receiver(s)")
await subscriber.close()
await publisher.close()
