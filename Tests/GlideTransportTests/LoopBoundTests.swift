import Synchronization
import Testing

@testable import GlideTransport

/// `LoopBound`: its value on its loop's thread, and, in a debug build, a stop anywhere else.
@Suite(.timeLimit(.minutes(2))) struct LoopBoundTests {
    final class Holder: Sendable {
        nonisolated(unsafe) var bound: LoopBound<[Int], ManualEventLoop>
        init(_ loop: ManualEventLoop) { bound = LoopBound([], on: loop) }
    }

    @Test func onItsLoopItIsReadAndWritten() {
        let loop = ManualEventLoop()
        let holder = Holder(loop)
        let seen = Mutex<[Int]>([])
        loop.execute {
            holder.bound.value.append(1)
            holder.bound.value.append(2)
            seen.withLock { $0 = holder.bound.value }
        }
        loop.run()
        #expect(seen.withLock { $0 } == [1, 2])
    }

    #if DEBUG
    @Test func touchedOffItsLoopADebugBuildStops() async {
        await #expect(processExitsWith: .failure) {
            let loop = ManualEventLoop()
            var bound = LoopBound(1, on: loop)
            bound.value += 1
        }
    }
    #endif
}
