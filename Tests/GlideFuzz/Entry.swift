// glide-fuzz: the fuzz targets of `GlideFuzzTargets`.
//
// Built with `--sanitize=fuzzer` and `-DFUZZING` (`make fuzz`), it is a libFuzzer binary: the
// target named by `GLIDE_FUZZ_TARGET` runs on every input. Built plainly, it replays files:
//
//   glide-fuzz <target> <file or directory>...
import Foundation
import GlideFuzzTargets

/// The target `GLIDE_FUZZ_TARGET` names, looked up once.
let selectedTarget: @Sendable (UnsafeRawBufferPointer) -> Void = {
    let name = ProcessInfo.processInfo.environment["GLIDE_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        FileHandle.standardError.write(Data("GLIDE_FUZZ_TARGET must be one of \(FuzzTargets.names)\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's entry point: one input through the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if !FUZZING
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            print("usage: glide-fuzz <\(FuzzTargets.names.joined(separator: "|"))> <file or directory>...")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { target($0) }
                count += 1
            }
        }
        print("\(name): \(count) inputs replayed, no crash")
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }
    }
}
#endif
