import Glibc
import Synchronization
import Testing

@testable import GlideTransport

@Suite(.timeLimit(.minutes(2))) struct EpollEventLoopGroupTests {
    /// The thread `loop` runs its tasks on.
    func thread(of loop: EpollEventLoop) async -> UInt {
        await withCheckedContinuation { (done: CheckedContinuation<UInt, Never>) in
            loop.execute { done.resume(returning: UInt(pthread_self())) }
        }
    }

    @Test func handsOutItsLoopsInTurnEachOnAThreadOfItsOwn() async {
        let group = EpollEventLoopGroup(loopCount: 3, name: "test-group")
        defer { group.shutdown() }
        let handed = (0..<7).map { _ in group.next() }
        for (index, loop) in handed.enumerated() {
            #expect(loop === group.loops[index % 3])
        }
        var threads: Set<UInt> = []
        for loop in group.loops { threads.insert(await thread(of: loop)) }
        #expect(threads.count == 3)
        #expect(!threads.contains(UInt(pthread_self())))
        // Each loop knows only its own thread as its own.
        let ownership = await withCheckedContinuation { (done: CheckedContinuation<[Bool], Never>) in
            group.loops[1].execute { done.resume(returning: group.loops.map(\.inEventLoop)) }
        }
        #expect(ownership == [false, true, false])
    }

    @Test func sharedGroupHasALoopPerCPUAndTheSharedLoopIsItsFirst() {
        #expect(EpollEventLoopGroup.shared.loops.count == EpollEventLoopGroup.onlineProcessors)
        #expect(EpollEventLoop.shared === EpollEventLoopGroup.shared.loops[0])
        #expect(EpollEventLoopGroup.onlineProcessors >= 1)
    }

    @Test func manyCallersTakeTurnsEvenly() async {
        let group = EpollEventLoopGroup(loopCount: 2, name: "test-turns")
        defer { group.shutdown() }
        let counts = await withTaskGroup(of: Int.self) { tasks in
            for _ in 0..<1000 { tasks.addTask { group.next() === group.loops[0] ? 0 : 1 } }
            var counts = [0, 0]
            for await index in tasks { counts[index] += 1 }
            return counts
        }
        #expect(counts == [500, 500])
    }
}
