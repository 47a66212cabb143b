import DigitLabEngine
import Foundation
import Testing

/// `parallelFor` runs on the engine's own helper threads, which spin between regions and sleep
/// when idle. Whatever state they are in, and whoever calls, every index must run exactly once,
/// and a region must use the helpers, not only the calling thread.
@Suite("Parallel regions", .serialized)
struct ParallelTests {
    /// Runs `parallelFor(n)` and returns how often each index ran and the threads that ran them.
    func visit(_ n: Int) -> (counts: [Int], threads: Set<pthread_t>) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
        let runners = UnsafeMutablePointer<pthread_t>.allocate(capacity: n)
        defer { counts.deallocate(); runners.deallocate() }
        counts.initialize(repeating: 0, count: n)
        parallelFor(n) { i in
            counts[i] += 1
            runners[i] = pthread_self()
        }
        return (Array(UnsafeBufferPointer(start: counts, count: n)), Set(UnsafeBufferPointer(start: runners, count: n)))
    }

    /// Other suites run at the same time and may hold the helpers (a second caller then runs its
    /// region alone), so a region is retried until one runs on both threads.
    func expectBothThreadsRun(_ n: Int, _ context: String) {
        var threadsSeen = 0
        for _ in 0..<200 where threadsSeen < 2 {
            let (counts, threads) = visit(n)
            #expect(counts == Array(repeating: 1, count: n), "\(context), n = \(n)")
            threadsSeen = threads.count
        }
        #expect(threadsSeen == 2, "\(context), n = \(n): the helper thread never ran a share")
    }

    @Test("every index runs once, and on two threads, whether the helper was spinning or asleep",
          .timeLimit(.minutes(1)))
    func everyIndexOnceOnTwoThreads() {
        EngineThreads.count = 2
        #expect(visit(1).counts == [1])
        for n in [2, 3, 32, 1000] { expectBothThreadsRun(n, "back to back") }
        // Pauses longer than the helpers' spin time (2 ms): they are asleep and must be woken.
        for _ in 0..<3 {
            usleep(20_000)
            let (counts, _) = visit(64)
            #expect(counts == Array(repeating: 1, count: 64), "after a pause")
        }
        usleep(20_000)
        expectBothThreadsRun(64, "after a pause")
    }

    @Test("regions opened from several threads at once, and regions inside regions, run every index once",
          .timeLimit(.minutes(1)))
    func concurrentAndNestedRegions() {
        EngineThreads.count = 2
        let callers = 4, rounds = 200, n = 50
        nonisolated(unsafe) let counts = UnsafeMutablePointer<Int>.allocate(capacity: callers * n * n)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: callers * n * n)
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            for _ in 0..<rounds {
                parallelFor(n) { i in
                    parallelFor(n) { j in counts[(c * n + i) * n + j] += 1 }
                }
            }
        }
        let all = Array(UnsafeBufferPointer(start: counts, count: callers * n * n))
        #expect(all.allSatisfy { $0 == rounds }, "counts between \(all.min()!) and \(all.max()!), expected \(rounds)")
    }
}
