import GlideBuffers
import Testing

@Suite(.timeLimit(.minutes(2))) struct BytesTests {
    @Test func writesAndReadsBack() {
        var bytes = Bytes()
        #expect(bytes.isEmpty)
        bytes.writeString("hello")
        bytes.writeByte(UInt8(ascii: " "))
        bytes.writeBytes([0x77, 0x6F, 0x72, 0x6C, 0x64])
        #expect(bytes.string == "hello world")
        #expect(bytes.readByte() == UInt8(ascii: "h"))
        #expect(bytes.string == "ello world")
        #expect(bytes.readSlice(length: 4)?.string == "ello")
        #expect(bytes.readSlice(length: 100) == nil)
        #expect(bytes.count == 6)
    }

    @Test(arguments: [0, 1, -1, 9, 10, -10, 123_456_789, Int.max, Int.min])
    func writesDecimalDigitsWithoutStrings(value: Int) {
        var bytes = Bytes()
        bytes.writeDecimal(value)
        #expect(bytes.string == String(value))
    }

    @Test func slicesShareStorageAndCopyOnWrite() {
        var original = Bytes("abcdef")
        let slice = original.getSlice(at: 2, length: 3)!
        #expect(slice.string == "cde")
        #expect(slice.readerIndex == original.readerIndex + 2)
        // Writing through the original must not change the slice, even at indices the slice covers.
        original.moveWriterIndex(to: original.readerIndex + 2)
        original.writeString("XYZ")
        #expect(original.string == "abXYZ")
        #expect(slice.string == "cde")
        var mutableSlice = slice
        mutableSlice.writeString("!")
        #expect(mutableSlice.string == "cde!")
        #expect(slice.string == "cde")
    }

    @Test func readsIntoSpareCapacity() {
        var bytes = Bytes(capacity: 8)
        let written = bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: 100) { spare in
            #expect(spare.count >= 100)
            for index in 0..<10 { spare[index] = UInt8(index) }
            return 10
        }
        #expect(written == 10)
        #expect(Array(bytes) == Array(0..<10))
    }

    @Test func reuseCompactsInsteadOfGrowingWhenUnique() {
        var bytes = Bytes(capacity: 64)
        bytes.writeBytes([UInt8](repeating: 1, count: 60))
        bytes.moveReaderIndex(forwardBy: 58)
        let capacity = bytes.capacity
        bytes.writeBytes([UInt8](repeating: 2, count: 30))
        #expect(bytes.capacity == capacity)
        #expect(bytes.readerIndex == 0)
        #expect(Array(bytes) == [1, 1] + [UInt8](repeating: 2, count: 30))
    }

    @Test func equalityAndHashingUseContentOnly() {
        let a = Bytes("same bytes here!")
        var b = Bytes("xxsame bytes here!")
        b.moveReaderIndex(forwardBy: 2)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != Bytes("same bytes here?"))
        #expect(Set([a, b]).count == 1)
    }

    @Test func compactedDropsALargeBackingStore() {
        var big = Bytes(capacity: 4096)
        big.writeBytes([UInt8](repeating: 7, count: 4000))
        let small = big.getSlice(at: 10, length: 5)!
        #expect(small.capacity == 4096)
        let compact = small.compacted()
        #expect(compact == small)
        #expect(compact.capacity < 4096)
        let large = big.getSlice(at: 0, length: 3000)!
        #expect(large.compacted().capacity == 4096)
    }

    @Test func describesBinaryAndText() {
        #expect(Bytes("plain").description == "plain")
        #expect(Bytes([0x00, 0xFF, 0x41]).description == "\\x00\\xffA")
        #expect(Bytes("x").debugDescription == "Bytes(1 bytes: \"x\")")
    }

    @Test func caseInsensitiveKeywordMatch() {
        #expect(Bytes("queued").equalsCaseInsensitive("QUEUED"))
        #expect(!Bytes("QUEUE@").equalsCaseInsensitive("QUEUE`"))
        #expect(!Bytes("QUEUE").equalsCaseInsensitive("QUEUED"))
    }
}
