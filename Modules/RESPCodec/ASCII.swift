import Glibc

/// Number parsing straight from ASCII bytes, without building a `String`.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let zero: UInt8 = 0x30

    /// A signed decimal integer filling `bytes[start..<end]` exactly, or `nil` when it is not one
    /// or does not fit in `Int`.
    static func parseInt(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var index = start
        guard index < end else { return nil }
        var negative = false
        let first = bytes[index]
        if first == minus || first == plus {
            negative = first == minus
            index &+= 1
            guard index < end else { return nil }
        }
        // Accumulate as a negative number so Int.min parses without overflow.
        var value = 0
        while index < end {
            let digit = bytes[index] &- zero
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(Int(digit))
            if o1 || o2 { return nil }
            value = next
            index &+= 1
        }
        if negative { return value }
        let (positive, overflow) = (0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    /// Whether `bytes[start..<end]` is a RESP3 double: a decimal number with an optional sign,
    /// fraction and exponent, or `inf`, `-inf`, `nan`.
    static func isDouble(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Bool {
        guard start < end else { return false }
        var index = start
        if bytes[index] == minus || bytes[index] == plus { index &+= 1 }
        let rest = end &- index
        if rest == 3 {
            let word = (bytes[index] | 0x20, bytes[index &+ 1] | 0x20, bytes[index &+ 2] | 0x20)
            if word == (0x69, 0x6E, 0x66) || word == (0x6E, 0x61, 0x6E) { return true }  // inf, nan
        }
        var digits = 0
        while index < end, bytes[index] &- zero < 10 {
            index &+= 1
            digits &+= 1
        }
        if index < end, bytes[index] == 0x2E {  // '.'
            index &+= 1
            while index < end, bytes[index] &- zero < 10 {
                index &+= 1
                digits &+= 1
            }
        }
        guard digits > 0 else { return false }
        if index < end, bytes[index] | 0x20 == 0x65 {  // 'e' or 'E'
            index &+= 1
            if index < end, bytes[index] == minus || bytes[index] == plus { index &+= 1 }
            var exponentDigits = 0
            while index < end, bytes[index] &- zero < 10 {
                index &+= 1
                exponentDigits &+= 1
            }
            guard exponentDigits > 0 else { return false }
        }
        return index == end
    }

    /// Whether `bytes[start..<end]` is an optional sign followed by one or more digits.
    static func isBigNumber(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Bool {
        var index = start
        if index < end, bytes[index] == minus || bytes[index] == plus { index &+= 1 }
        guard index < end else { return false }
        while index < end {
            guard bytes[index] &- zero < 10 else { return false }
            index &+= 1
        }
        return true
    }

    /// The index of the first `\n` in `bytes[start..<end]`, or `nil`.
    static func firstLineFeed(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start < end else { return nil }
        // memchr is vectorised; a byte loop is several times slower on long lines.
        guard let found = memchr(bytes.baseAddress! + start, 0x0A, end &- start) else { return nil }
        return UnsafeRawPointer(found) - bytes.baseAddress!
    }
}
