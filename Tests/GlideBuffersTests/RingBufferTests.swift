import GlideBuffers
import Testing

@Suite(.timeLimit(.minutes(2))) struct RingBufferTests {
    @Test func firstInFirstOutAcrossWrapAndGrowth() {
        var ring = RingBuffer<Int>(minimumCapacity: 4)
        var model: [Int] = []
        var next = 0
        // Interleave pushes and pops so the head wraps around several times while the buffer grows.
        for round in 0..<200 {
            for _ in 0..<(round % 7) {
                ring.append(next)
                model.append(next)
                next += 1
            }
            for _ in 0..<(round % 5) where !model.isEmpty {
                #expect(ring.popFirst() == model.removeFirst())
            }
            #expect(ring.count == model.count)
            #expect(Array(ring) == model)
        }
    }

    @Test func valueSemantics() {
        var a: RingBuffer<String> = ["x", "y"]
        let b = a
        a.append("z")
        _ = a.popFirst()
        #expect(Array(a) == ["y", "z"])
        #expect(Array(b) == ["x", "y"])
    }

    @Test func subscriptMutatesInPlace() {
        var ring: RingBuffer<Int> = [1, 2, 3]
        ring[1] += 40
        #expect(ring[1] == 42)
        #expect(ring.first == 1 && ring.last == 3)
        #expect(ring.popLast() == 3)
    }

    @Test func releasesElementsExactlyOnce() {
        final class Counter { var live = 0 }
        final class Token {
            let counter: Counter
            init(_ counter: Counter) {
                self.counter = counter
                counter.live += 1
            }
            deinit { counter.live -= 1 }
        }
        let counter = Counter()
        do {
            var ring = RingBuffer<Token>(minimumCapacity: 2)
            for _ in 0..<10 { ring.append(Token(counter)) }
            _ = ring.popFirst()
            var copy = ring
            copy.append(Token(counter))
            #expect(counter.live == 10)
            ring.removeAll(keepingCapacity: true)
            #expect(counter.live == 10)
        }
        #expect(counter.live == 0)
    }
}
