import Foundation
import GlideFuzzTargets
import Testing

/// Every committed fuzz input, seeds and crashes found, through its target (`make fuzz` runs the
/// same targets under libFuzzer): a crash once found stays fixed.
@Suite(.timeLimit(.minutes(2))) struct FuzzCorpusTests {
    /// `Tests/GlideFuzz/Corpus`, found from this file.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GlideFuzz/Corpus")

    @Test(arguments: FuzzTargets.names)
    func everyCommittedInputRunsClean(_ name: String) throws {
        let directory = Self.corpus.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files.count >= 5, "the \(name) corpus has \(files.count) seeds")
        let target = try #require(FuzzTargets.all[name])
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            data.withUnsafeBytes { target($0) }
        }
    }
}
