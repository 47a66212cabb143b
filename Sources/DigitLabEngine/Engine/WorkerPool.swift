import Foundation
import Synchronization

/// The engine's helper threads: started once, they wait for the next parallel region by
/// spinning for a while, then sleep until woken.
///
/// Why not `DispatchQueue.concurrentPerform`: a training step opens about a dozen short parallel
/// regions (each convolution stage, each split product, the batch fill, Adam), tens of
/// microseconds apart. Dispatch's workers go to sleep between them, and on the project's virtual
/// machines waking a sleeping thread costs 50-150 µs (the hypervisor has halted its vCPU), so a
/// region either waited for the wake-up or ran both halves on the calling thread. Measured on a
/// 2-core Zen 3 with a 20 µs gap between regions of 2 × 20 µs of work: 35 µs lost a region with
/// Dispatch, 2 µs here. A helper that has found no work for `spinTime` sleeps, so an idle
/// process does not hold its cores. Helpers live as long as the process: a pool that is dropped
/// (`EngineThreads` replaces it when more threads are asked for) leaves them asleep for good.
public final class WorkerPool: @unchecked Sendable {
    /// How long a helper keeps polling after its last region before it sleeps: longer than the
    /// gaps inside a training step (serial work between regions), short enough that a pause
    /// between epochs or runs frees the core.
    static let spinTime: UInt64 = 2_000_000  // ns

    /// Helper threads; the calling thread takes share 0, helper `h` share `h + 1`.
    public let helpers: Int
    /// Bumped once per region; a helper runs when it sees a value it has not seen.
    private let generation = Atomic<Int>(0)
    /// Helpers still working on the current region.
    private let remaining = Atomic<Int>(0)
    /// Taken by the thread running a region, so a second caller (a nested region, or tests on
    /// several threads) runs its work on its own thread instead.
    private let busy = Atomic<Bool>(false)
    /// The current region's body and its share count; written before `generation` is bumped.
    /// With the calling thread's floating-point mode (`Denormals`), which helpers take for it.
    private var job: (body: (Int) -> Void, shares: Int, flushesToZero: Bool)?
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Helpers asleep on `wake`; guarded by `lock`.
    private var sleepers = 0

    public init(helpers: Int) {
        self.helpers = helpers
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        for h in 0..<helpers {
            // The helpers hold the pool strongly: they never exit (see above).
            let thread = Thread { self.serve(share: h + 1) }
            thread.name = "digitlab-worker-\(h + 1)"
            thread.start()
        }
    }

    /// Runs `body(s)` for every share `s` in `0..<shares`, share 0 on the calling thread, and
    /// returns when all are done. If the pool is already running a region, runs them all here,
    /// in order.
    public func run(shares: Int, _ body: (Int) -> Void) {
        precondition(shares <= helpers + 1)
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for s in 0..<shares { body(s) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = (body, shares, Denormals.flushesToZero)
            remaining.store(helpers, ordering: .relaxed)
            pthread_mutex_lock(lock)
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(lock)
            body(0)
            while remaining.load(ordering: .acquiring) != 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// A helper's life: wait for a new generation, run its share if the region has one, report.
    private func serve(share: Int) {
        var seen = 0
        while true {
            seen = waitForGeneration(after: seen)
            if let job, share < job.shares {
                Denormals.flushesToZero = job.flushesToZero
                job.body(share)
            }
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Polls `generation` for `spinTime`, then sleeps on `wake` until it moves past `seen`.
    private func waitForGeneration(after seen: Int) -> Int {
        let deadline = DispatchTime.now().uptimeNanoseconds + WorkerPool.spinTime
        var polls = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            polls += 1
            // Reading the clock costs more than a poll; look at it every few hundred.
            if polls & 255 == 0 && DispatchTime.now().uptimeNanoseconds > deadline { break }
        }
        pthread_mutex_lock(lock)
        sleepers += 1
        while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(wake, lock) }
        sleepers -= 1
        pthread_mutex_unlock(lock)
        return generation.load(ordering: .acquiring)
    }
}
