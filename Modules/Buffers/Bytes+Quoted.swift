extension Bytes {
    /// The bytes in double quotes, escaped as the server escapes a value in `MONITOR` lines and as
    /// valkey-cli prints one: `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, and `\xNN` for any
    /// other byte that is not printable ASCII.
    public var quoted: String {
        var text = "\""
        for byte in self {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\""): text += "\\\""
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x07: text += "\\a"
            case 0x08: text += "\\b"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + "\""
    }
}
