import Foundation
import Glide
import GlideTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct StreamGeoBitCommandTests {
    @Test(arguments: ServerFlavor.allCases)
    func streams(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        let first = try #require(try await client.xadd(key, [(field: "temp", value: "21"), (field: "unit", value: "C")]))
        let second = try #require(try await client.xadd(key, [(field: "temp", value: "22")], id: "*"))
        #expect(first < second || first.count < second.count)
        #expect(try await client.xlen(key) == 2)
        let entries = try await client.xrange(key)
        #expect(entries.map(\.id) == [first, second])
        #expect(entries[0]["temp"] == "21" && entries[0].fields.map(\.field) == ["temp", "unit"])
        #expect(try await client.xrevrange(key, count: 1).map(\.id) == [second])
        #expect(try await client.xadd(key + ":none", [(field: "f", value: "v")], makeStream: false) == nil)

        // A consumer group reads, acknowledges, and what is left pending shows up.
        try await client.xgroupCreate(key, group: "workers", id: "0")
        let read = try #require(try await client.xreadgroup(group: "workers", consumer: "w1", [(key: key, id: ">")], count: 10))
        #expect(read[key]?.map(\.id) == [first, second])
        #expect(try await client.xack(key, group: "workers", [first]) == 1)
        let pending = try await client.xpending(key, group: "workers")
        #expect(pending.arrayValue?.first?.intValue == 1)
        #expect(try await client.xreadgroup(group: "workers", consumer: "w1", [(key: key, id: ">")]) == nil)

        // XREAD BLOCK waits past the request timeout for a new entry.
        let readerName = "reader-" + key.filter { $0.isLetter || $0.isNumber }
        let reader = try await flavor.client {
            $0.requestTimeout = .milliseconds(250)
            $0.clientName = readerName
        }
        let waiting = Task { try await reader.xread([(key: key, id: "$")], block: .seconds(5)) }
        // `$` is the last entry when the server runs the XREAD: the new one is added once it waits.
        try await Polling.waitUntil("the server holds the XREAD") {
            let list = try await client.customCommand(["CLIENT", "LIST"]).stringValue ?? ""
            return list.split(separator: "\n").contains { $0.contains("name=\(readerName) ") && $0.contains("cmd=xread") }
        }
        let third = try await client.xadd(key, [(field: "temp", value: "23")])
        let arrived = try await waiting.value
        #expect(arrived?[key]?.map(\.id) == [third].compactMap { $0 })
        #expect(try await reader.xread([(key: key, id: "$")], block: .milliseconds(100)) == nil)

        #expect(try await client.xdel(key, [first]) == 1)
        #expect(try await client.xtrim(key, maxLength: 1) == 1)
        #expect(try await client.xgroupDestroy(key, group: "workers"))
        await reader.close()
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func geo(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        let added = try await client.geoadd(
            key,
            [
                "Palermo": (longitude: 13.361389, latitude: 38.115556),
                "Catania": (longitude: 15.087269, latitude: 37.502669),
            ])
        #expect(added == 2)
        let distance = try #require(try await client.geodist(key, "Palermo", "Catania", unit: .km))
        #expect(abs(distance - 166.2742) < 0.01)
        let positions = try await client.geopos(key, ["Palermo", "Nowhere"])
        #expect(positions.count == 2 && positions[1] == nil)
        #expect(abs((positions[0]?.longitude ?? 0) - 13.361389) < 0.0001)
        #expect(try await client.geohash(key, ["Palermo"]) == ["sqc8b49rny0"])
        let near = try await client.geosearch(
            key, from: .fromlonlat(.init(longitude: 15, latitude: 37)),
            by: .circle(.init(radius: 200, unit: .km)))
        #expect(near == ["Catania", "Palermo"])
        let close = try await client.geosearch(key, from: .member("Catania"), by: .box(.init(width: 50, height: 50, unit: .km)))
        #expect(close == ["Catania"])
        if flavor.isValkeyServer {  // BYPOLYGON is a Valkey 9 argument; its vertex count is computed.
            let around = GEOSEARCH.By.polygon(
                .init(vertices: [
                    .init(longitude: 14, latitude: 36), .init(longitude: 16, latitude: 36),
                    .init(longitude: 16, latitude: 39), .init(longitude: 14, latitude: 39),
                ]))
            let inside = try await client.execute(GEOSEARCH(key, by: around))
            #expect(inside.arrayValue?.compactMap(\.stringValue) == ["Catania"])
        }
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func hyperLogLog(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.pfadd(key, (0..<100).map { "item-\($0)" }))
        #expect(try await client.pfadd(key, ["item-1"]) == false)
        #expect((95...105).contains(try await client.pfcount([key])))
        try await client.pfadd(key + ":2", (50..<150).map { "item-\($0)" })
        try await client.pfmerge(key + ":all", [key, key + ":2"])
        #expect((140...160).contains(try await client.pfcount([key + ":all"])))
        await client.close()
    }

    @Test(arguments: ServerFlavor.allCases)
    func bitmaps(flavor: ServerFlavor) async throws {
        let client = try await flavor.client()
        let key = SharedServer.uniqueKey()
        #expect(try await client.setbit(key, 7, 1) == 0)
        #expect(try await client.setbit(key, 7, 1) == 1)
        #expect(try await client.getbit(key, 7) == 1)
        #expect(try await client.getbit(key, 100) == 0)
        try await client.setbit(key, 15, 1)
        #expect(try await client.bitcount(key) == 2)
        #expect(try await client.bitcount(key, range: .init(start: 1, endUnitBlock: .init(end: 1))) == 1)
        #expect(try await client.bitpos(key, 1) == 7)
        try await client.set(key + ":a", Bytes([0b1100]))
        try await client.set(key + ":b", Bytes([0b1010]))
        #expect(try await client.bitop(.and, destination: key + ":and", [key + ":a", key + ":b"]) == 1)
        #expect(try await client.get(key + ":and", as: Bytes.self) == Bytes([0b1000]))
        let fields = try await client.execute(
            BITFIELD(
                key + ":f",
                operations: [
                    .write(.init(writeOperation: .setBlock(.init(encoding: "u8", offset: 0, value: 200)))),
                    .getBlock(.init(encoding: "u8", offset: 0)),
                    .write(.init(overflowBlock: .sat, writeOperation: .incrbyBlock(.init(encoding: "u8", offset: 0, increment: 100)))),
                ]))
        #expect(fields == [0, 200, 255])
        await client.close()
    }
}
