import Foundation
import GlideCommands
import Testing

@testable import CommandsGenerator

/// The package root, found from this file's path.
let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return url
}()

@Suite(.timeLimit(.minutes(2))) struct GeneratedSourcesTests {
    @Test func committedSourcesMatchTheSnapshot() throws {
        let files = try Generator.generate(root: packageRoot)
        let directory = packageRoot.appendingPathComponent("Modules/Commands/Generated")
        let committed = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
        #expect(Set(committed) == Set(files.keys), "run `make generate`")
        for (name, contents) in files {
            let existing = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            #expect(existing == contents, "\(name) is out of date: run `make generate`")
        }
    }

    @Test func everyCommandOfTheSnapshotHasATypedEntryPoint() throws {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Modules/Commands/Resources/commands.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let commands = try #require(root["commands"] as? [String: [String: Any]])
        var expected: Set<String> = []
        for (name, entry) in commands {
            let info = entry["info"] as? [String: Any] ?? [:]
            let subcommands = info["subcommands"] as? [String: Any] ?? [:]
            let arity = info["arity"] as? Int ?? -1
            let typeName = Naming.command(name)
            if subcommands.isEmpty || arity == -1 || arity == 1 { expected.insert(typeName) }
            for subcommand in subcommands.keys {
                expected.insert(typeName + "." + Naming.command(String(subcommand.split(separator: "|").last!)))
            }
        }
        let typed = Set(CommandTable.typedCommandNames)
        #expect(typed == expected)
        #expect(typed.count == 384)
        // The metadata table has an entry for every command and subcommand too.
        #expect(
            CommandTable.all.count == commands.count
                + commands.values.reduce(0) {
                    $0 + (($1["info"] as? [String: Any])?["subcommands"] as? [String: Any] ?? [:]).count
                })
    }

    @Test func typeNamesExistAsTypes() {
        // A sample across groups, spelled as a user would.
        let names = [
            GET.name, CLIENT.KILL.name, XGROUP.CREATE.name, FUNCTION.LOAD.name, ZRANGEBYSCORE.name,
            GEOSEARCH.name, PFADD.name, BITFIELD_RO.name, COMMAND.DOCS.name, CLUSTER.SHARDS.name,
        ]
        #expect(
            names == [
                "GET", "CLIENT KILL", "XGROUP CREATE", "FUNCTION LOAD", "ZRANGEBYSCORE", "GEOSEARCH", "PFADD",
                "BITFIELD_RO", "COMMAND DOCS", "CLUSTER SHARDS",
            ])
    }
}
