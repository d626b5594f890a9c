import Foundation
import Glibc
import GlideTransport
import Testing

@testable import GlideTLS

/// `TLSContextProvider` rebuilds its context when a file it was read from changes, keeps the one
/// in use when the new files don't load, and says why on `reload()`; each context trusts what its
/// files said when it was built. The peers are in-memory servers, with no socket.
@Suite(.timeLimit(.minutes(2))) struct TLSContextProviderTests {
    /// A directory of its own, removed after the test.
    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glide-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Replaces `file` with `text` the way rotations do: written aside, then renamed over it.
    static func replace(_ file: URL, with text: String) throws {
        let aside = file.appendingPathExtension("new")
        try text.write(to: aside, atomically: false, encoding: .utf8)
        guard Glibc.rename(aside.path, file.path) == 0 else { throw TransportError(.systemCall, syscall: "rename", errno: .current) }
    }

    /// Whether a client with `context` completes a handshake with `server`.
    static func trusts(_ context: TLSContext, _ server: MemoryTLSServer, _ clientEnd: MemoryByteStream) throws -> Bool {
        let client = try TLSStream(over: clientEnd, context: context, host: "localhost")
        return handshake(client, with: server) == .complete
    }

    @Test func aChangedFileIsReadAgainForTheNextConnectionAndABrokenOneIsNot() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let roots = directory.appendingPathComponent("ca.crt")
        let (firstClient, firstEnd) = MemoryByteStream.makePair()
        let first = MemoryTLSServer(pipe: firstEnd)
        try first.certificatePEM.write(to: roots, atomically: false, encoding: .utf8)
        let provider = try TLSContextProvider(TLSConfiguration(trustRoots: .file(roots.path)))
        let original = provider.current()
        #expect(provider.current() === original, "nothing changed: the same context")
        #expect(try Self.trusts(original, first, firstClient))

        // The trust roots are rotated to another server's certificate.
        let (secondClient, secondEnd) = MemoryByteStream.makePair()
        let second = MemoryTLSServer(pipe: secondEnd)
        try Self.replace(roots, with: second.certificatePEM)
        let rotated = provider.current()
        #expect(rotated !== original)
        #expect(try Self.trusts(rotated, second, secondClient))
        // The old context still trusts what it was built with: connections made with it keep it.
        let (oldClient, oldEnd) = MemoryByteStream.makePair()
        #expect(try Self.trusts(original, MemoryTLSServer(pipe: oldEnd), oldClient) == false)

        // A rotation caught halfway (no certificate in the file) keeps the context in use, and
        // `reload()` says what failed.
        try Self.replace(roots, with: "not a certificate\n")
        #expect(provider.current() === rotated)
        #expect(throws: TransportError.self) { try provider.reload() }
        #expect(provider.current() === rotated)
        // Fixed, it is read again.
        try Self.replace(roots, with: second.certificatePEM)
        #expect(provider.current() !== rotated)
    }

    @Test func inMemoryMaterialIsNeverReadAgainButReloadRebuildsIt() throws {
        let (_, end) = MemoryByteStream.makePair()
        let server = MemoryTLSServer(pipe: end)
        let provider = try TLSContextProvider(TLSConfiguration(trustRoots: .pem(server.certificatePEM)))
        let original = provider.current()
        #expect(provider.current() === original)
        try provider.reload()
        #expect(provider.current() !== original)
    }

    @Test func aFileStampChangesWhenTheFileIsReplacedOrWritten() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("key.pem")
        try "one".write(to: file, atomically: false, encoding: .utf8)
        let first = try #require(FileStamp.of(file.path))
        #expect(FileStamp.of(file.path) == first)
        try Self.replace(file, with: "two")
        let replaced = try #require(FileStamp.of(file.path))
        #expect(replaced != first)
        try "three, longer".write(to: file, atomically: false, encoding: .utf8)
        #expect(FileStamp.of(file.path) != replaced)
        #expect(FileStamp.of(directory.appendingPathComponent("missing").path) == nil)
    }
}
