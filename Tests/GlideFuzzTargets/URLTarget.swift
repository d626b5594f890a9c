import GlideClient

/// Connection URLs, standalone and cluster: each is a configuration or a `.configuration` error,
/// and no error message contains the URL's password, as written or decoded.
///
/// Whether a message contains the password is judged against the same URL with the password
/// replaced by `x`s: a message may contain the password's text by chance (a password `alkey` is
/// in "valkey"), but only a leak puts it there when the replaced URL's message doesn't have it.
enum URLTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        let url = String(decoding: data, as: UTF8.self)
        let password = self.password(in: url)
        for cluster in [false, true] {
            guard let message = failure(of: url, cluster: cluster), let password else { continue }
            var masked = url
            masked.replaceSubrange(password, with: String(repeating: "x", count: url[password].count))
            let replaced = failure(of: masked, cluster: cluster) ?? ""
            for text in [String(url[password]), percentDecoded(url[password])] where text.count >= 4 {
                precondition(
                    message.firstRange(of: text) == nil || replaced.firstRange(of: text) != nil,
                    "the password is in the message: \(message)")
            }
        }
    }

    /// The message of the error parsing `url` throws, or `nil` when it parses.
    static func failure(of url: String, cluster: Bool) -> String? {
        do throws(GlideError) {
            if cluster {
                _ = try GlideClusterClientConfiguration(url: url)
            } else {
                _ = try GlideClientConfiguration(url: url)
            }
            return nil
        } catch {
            precondition(error.code == .configuration, "a URL failed with \(error.code), not .configuration")
            return error.message
        }
    }

    /// `text` with its `%XX` escapes decoded (no Foundation here: its `contains` and
    /// `range(of:)` trap on some strings the fuzzer makes).
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Where the password of the URL's user information is, as the parser finds it: before the
    /// query, up to the last `@`, after the first `:`; found by characters, as the parser does
    /// (Foundation's `range(of:)` would find `://` inside a character, where the parser doesn't).
    static func password(in url: String) -> Range<String.Index>? {
        guard let scheme = url.firstRange(of: "://") else { return nil }
        var rest = url[scheme.upperBound...]
        if let question = rest.firstIndex(of: "?") { rest = rest[..<question] }
        guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return nil }
        return rest.index(after: colon)..<at
    }
}
