import GlideTransport

/// What the sentinels told the client: the primary, and the replicas that can serve.
struct SentinelReport: Hashable, Sendable {
    var primary: NodeAddress
    var replicas: [NodeAddress]
}

/// Reads the sentinels' replies and notices. Pure: tests give it tokens.
enum SentinelReplies {
    /// `SENTINEL GET-PRIMARY-ADDR-BY-NAME`'s reply: `[ip, port]`, or `nil` for a null (no
    /// primary of that name) or anything else.
    static func primaryAddress(_ token: RESPToken) -> NodeAddress? {
        guard let elements = token.elements.map(Array.init), elements.count == 2,
            let host = elements[0].stringBytes?.string, let port = port(elements[1])
        else { return nil }
        return NodeAddress(host: host, port: port)
    }

    /// `SENTINEL REPLICAS`'s reply: one map (a flat array of names and values on RESP2) per
    /// replica. Replicas the sentinel flags as down or disconnected are left out: they can't
    /// serve, and the client would only wait for them.
    static func replicas(_ token: RESPToken) -> [NodeAddress] {
        guard let entries = token.elements else { return [] }
        var replicas: [NodeAddress] = []
        for entry in entries {
            guard let fields = entry.elements.map(Array.init) else { continue }
            var values: [String: RESPToken] = [:]
            var index = 0
            while index + 1 < fields.count {
                if let name = fields[index].stringBytes?.string { values[name] = fields[index + 1] }
                index += 2
            }
            guard let host = values["ip"]?.stringBytes?.string, let port = values["port"].flatMap(port) else { continue }
            let flags = values["flags"]?.stringBytes?.string.split(separator: ",") ?? []
            if flags.contains(where: { ["s_down", "o_down", "disconnected"].contains($0) }) { continue }
            replicas.append(NodeAddress(host: host, port: port))
        }
        return replicas
    }

    /// A `+switch-master` notice's payload, `name old-ip old-port new-ip new-port`: the new
    /// primary, when the notice is about `primaryName`.
    static func switchedPrimary(_ payload: String, primaryName: String) -> NodeAddress? {
        let words = payload.split(separator: " ")
        guard words.count == 5, words[0] == primaryName, let port = Int(words[4]) else { return nil }
        return NodeAddress(host: String(words[3]), port: port)
    }

    /// Whether a sentinel refused a subcommand as unknown: an older one (Redis, Valkey before 8)
    /// that only knows the `MASTER`/`SLAVES` spellings.
    static func isUnknownSubcommand(_ token: RESPToken) -> Bool {
        guard token.type.isError, let message = token.stringBytes?.string else { return false }
        return ErrorReplyMeaning.isUnknownCommand(message)
    }

    private static func port(_ token: RESPToken) -> Int? {
        token.integerValue ?? token.stringBytes.flatMap { Int($0.string) }
    }
}
