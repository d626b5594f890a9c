// A leaderboard on a sorted set: scores added as games end (`ZADD … INCR`), a player's rank, the
// top of the board, a page further down, and how many players sit in a score band. Ties rank by
// name, as the server orders equal scores.
// Usage: leaderboard [host] [port] [--cluster]
import Foundation
import Glide

struct Leaderboard<Client: GlideCommandExecutor> {
    let client: Client
    let key: String

    /// Adds `points` to `player`'s score; the new score.
    func record(_ player: String, points: Double) async throws -> Double {
        try await client.zaddIncr(key, player, increment: points) ?? 0
    }

    /// `player`'s place, 1 for the best; `nil` for a player with no score.
    func place(of player: String) async throws -> Int? {
        try await client.zrevrank(key, player).map { $0 + 1 }
    }

    /// Page `page` (from 1) of `size` places, best first: place, player, score.
    func page(_ page: Int, size: Int) async throws -> [(place: Int, player: String, score: Int)] {
        let first = (page - 1) * size
        let members = try await client.zrangeWithScores(key, first, first + size - 1, reverse: true)
        return members.enumerated().map { (first + $0.offset + 1, $0.element.member.string, Int($0.element.score)) }
    }
}

func run<Client: GlideCommandExecutor>(_ client: Client, label: String) async throws {
    let board = Leaderboard(client: client, key: "leaderboard:\(UUID().uuidString.prefix(8))")
    // 100 players, each with a score of its own: player-n has n * 10 points.
    for player in 1...100 { _ = try await board.record(String(format: "player-%03d", player), points: Double(player * 10)) }
    let top = try await board.page(1, size: 3).map { "\($0.place). \($0.player) \($0.score)" }
    print("\(label): top 3 -> \(top.joined(separator: ", "))")
    print("\(label): player-050 is at place \(try await board.place(of: "player-050") ?? 0)")
    let second = try await board.page(2, size: 10)
    let (first, last) = (second.first!, second.last!)
    print("\(label): page 2 -> places \(first.place)...\(last.place), from \(first.player) to \(last.player)")
    // A game ends: player-050 scores 505 points and climbs past everyone.
    let score = try await board.record("player-050", points: 505)
    print("\(label): player-050 now has \(Int(score)) points, at place \(try await board.place(of: "player-050") ?? 0)")
    let band = try await client.execute(ZCOUNT(board.key, "500", "800"))
    print("\(label): \(band) players have 500 to 800 points")
    print("\(label): a player with no games -> \(try await board.place(of: "nobody").map(String.init) ?? "not ranked")")
}

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--cluster" }
let host = arguments.first ?? "localhost"
let port = arguments.dropFirst().first.flatMap { Int($0) } ?? 6379
let address = NodeAddress(host: host, port: port)
// `VALKEY_REQUEST_TIMEOUT_MS` overrides the request timeout (the tests' sanitizer runs set it).
let timeout = ProcessInfo.processInfo.environment["VALKEY_REQUEST_TIMEOUT_MS"].flatMap { Int($0) }.map { Duration.milliseconds($0) }
if CommandLine.arguments.contains("--cluster") {
    var configuration = GlideClusterClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClusterClient.create(configuration)
    try await run(client, label: "cluster")
    await client.close()
} else {
    var configuration = GlideClientConfiguration(addresses: [address])
    if let timeout { configuration.requestTimeout = timeout }
    let client = try await GlideClient.create(configuration)
    try await run(client, label: "standalone")
    await client.close()
}
