import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// `parallelFor` runs on the engine's `WorkerPool`, whose helper threads spin between regions and
/// sleep when idle. Whatever state they are in, and whoever calls, every index must run exactly
/// once, and a region must use the helpers, not only the calling thread.
///
/// Under `.engineThreads` (which pins the count), like every engine test. They were not, once: in
/// a full-suite CI run (21eb216) the concurrent-regions test below counted one index 199 times of
/// 200 while `ThreadCountTests`, which runs alone, was switching the engine's thread count (which
/// replaces the pool). Whether the switch caused it was not established; runs set the count once,
/// before any region, so the tests now wait for such a test to finish. The admission wait (behind
/// it or a ZCA fit) counts against the time limits, which are there to catch a deadlock, not to
/// time anything: hence ten minutes, not one.
@Suite("Parallel regions", .serialized, .engineThreads)
struct ParallelTests {

    /// Runs `n` shares on `pool` and returns how often each ran and the threads that ran them.
    func visit(_ pool: WorkerPool, shares n: Int) -> (counts: [Int], threads: Set<pthread_t>) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
        let runners = UnsafeMutablePointer<pthread_t>.allocate(capacity: n)
        defer { counts.deallocate(); runners.deallocate() }
        counts.initialize(repeating: 0, count: n)
        pool.run(shares: n) { i in
            counts[i] += 1
            runners[i] = pthread_self()
        }
        return (Array(UnsafeBufferPointer(start: counts, count: n)), Set(UnsafeBufferPointer(start: runners, count: n)))
    }

    /// A pool of its own, so that other suites running at the same time cannot hold it.
    @Test("every share runs once, each on its own thread, whether the helpers were spinning or asleep",
          .timeLimit(.minutes(10)))
    func everyShareOnItsOwnThread() {
        let pool = WorkerPool(helpers: 2)
        for shares in [1, 2, 3] {
            let (counts, threads) = visit(pool, shares: shares)
            #expect(counts == Array(repeating: 1, count: shares))
            #expect(threads.count == shares, "\(shares) shares ran on \(threads.count) threads")
        }
        // Pauses longer than the helpers' spin time (2 ms): they are asleep and must be woken.
        for _ in 0..<3 {
            usleep(20_000)
            let (counts, threads) = visit(pool, shares: 3)
            #expect(counts == [1, 1, 1], "after a pause")
            #expect(threads.count == 3, "after a pause, 3 shares ran on \(threads.count) threads")
        }
    }

    @Test("parallelFor visits every index once, whatever the range and however it splits")
    func everyIndexOnce() {
        for n in [0, 1, 2, 3, 32, 1000] {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
            defer { counts.deallocate() }
            counts.initialize(repeating: 0, count: max(n, 1))
            parallelFor(n) { i in counts[i] += 1 }
            #expect((0..<n).allSatisfy { counts[$0] == 1 }, "n = \(n)")
        }
    }

    @Test("parallelClaim visits every index once, each on a thread of the region")
    func everyClaimOnce() {
        for n in [0, 1, 2, 3, 16, 1000] {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
            let claimers = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
            defer { counts.deallocate(); claimers.deallocate() }
            counts.initialize(repeating: 0, count: max(n, 1))
            parallelClaim(n) { i, t in counts[i] += 1; claimers[i] = t }
            #expect((0..<n).allSatisfy { counts[$0] == 1 }, "n = \(n)")
            #expect((0..<n).allSatisfy { (0..<2).contains(claimers[$0]) }, "n = \(n)")
        }
    }

    @Test("regions opened from several threads at once, and regions inside regions, run every index once",
          .timeLimit(.minutes(10)))
    func concurrentAndNestedRegions() {
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

/// `EngineThreads.alone`: the engine on the calling thread only, for the server's readers.
@Suite("The engine on one thread alone", .engineThreads)
struct EngineAloneTests {
    @Test("inside alone, regions run on the calling thread and count is 1 there only, and after it the count is back")
    func regionsStayOnTheCallingThread() {
        let n = 64
        let runners = UnsafeMutablePointer<pthread_t>.allocate(capacity: n)
        let claimers = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { runners.deallocate(); claimers.deallocate() }
        let caller = pthread_self()
        let (inside, elsewhere) = EngineThreads.alone {
            parallelFor(n) { i in runners[i] = pthread_self() }
            parallelClaim(n) { i, t in claimers[i] = t }
            // Another thread, meanwhile, still sees the process's count (a thread of its own:
            // `DispatchQueue.sync` would run the block on this one).
            nonisolated(unsafe) var elsewhere = 0
            let seen = DispatchSemaphore(value: 0)
            Thread { elsewhere = EngineThreads.count; seen.signal() }.start()
            seen.wait()
            return (EngineThreads.count, elsewhere)
        }
        #expect(inside == 1)
        #expect(elsewhere == TestEngine.threads)
        #expect((0..<n).allSatisfy { pthread_equal(runners[$0], caller) != 0 }, "a share ran on a helper inside alone")
        #expect((0..<n).allSatisfy { claimers[$0] == 0 })
        // Nested, and after: the count is back.
        let afterInner = EngineThreads.alone {
            EngineThreads.alone { }
            return EngineThreads.count
        }
        #expect(afterInner == 1, "leaving an inner alone ended the outer one")
        #expect(EngineThreads.count == TestEngine.threads)
    }
}
