import Foundation
import Synchronization

/// How many threads the engine spreads its work over: its own loops (im2col, col2im, pooling,
/// element-wise work) and its matrix products, which `gemm` splits into single-threaded OpenBLAS
/// calls, one per thread. One by default; runs raise it to the core count.
public enum EngineThreads {
    nonisolated(unsafe) private static var _count = 1
    /// The helper threads `parallelFor` hands shares to: made when the count first exceeds one,
    /// replaced by one of the right size when the count changes to another above one (a region
    /// waits for every helper to see it, so spare helpers would only compete for the cores, as
    /// after a test that trained on four threads to compare with two).
    nonisolated(unsafe) static private(set) var pool: WorkerPool?
    /// The number of chunks `parallelFor` splits its range into. Setting it makes OpenBLAS
    /// single-threaded: the engine splits its products over its own threads, and a count of one
    /// means one core (a Slurm job given one CPU, or a shard run with `--threads 1` beside
    /// another, must not have OpenBLAS start a thread per CPU of the machine, as it did when a
    /// count of one left the threading to OpenBLAS).
    public static var count: Int {
        get { pthread_getspecific(aloneKey) == nil ? _count : 1 }
        set {
            _count = max(1, newValue)
            if _count > 1 && pool?.helpers != _count - 1 { pool = WorkerPool(helpers: _count - 1) }
            // Once per process, not on every set: OpenBLAS must not be reconfigured while another
            // thread is inside one of its products (tests switching it between one thread and
            // two corrupted such a product).
            if BLASRuntime.threads != 1 { BLASRuntime.setThreads(1) }
        }
    }

    /// Runs `body` with the engine on the calling thread alone: inside it `count` is 1 on this
    /// thread (on others it is unchanged), so the passes `body` runs hand no shares to the pool's
    /// helpers.
    ///
    /// Why: the server reads each upload on the request's own thread, one per core, each with a
    /// model of its own; a pass that handed half its work to a helper would take the core the
    /// other request is reading on. The numbers do not change: every split the engine makes is
    /// fixed (`GEMMBlocks`, `GradientPartitions`), whatever the thread count.
    public static func alone<Result>(_ body: () throws -> Result) rethrows -> Result {
        let outer = pthread_getspecific(aloneKey)
        pthread_setspecific(aloneKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(aloneKey, outer) }
        return try body()
    }

    /// The thread-specific flag `alone` sets (non-nil inside it).
    private static let aloneKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()
}

/// Runs `body(i)` for every `i` in `0..<n`, split into contiguous chunks over `EngineThreads.count`
/// threads. Each index is visited exactly once, and the split depends only on `n` and the thread
/// count, so results are deterministic as long as iterations write disjoint memory.
@inline(__always)
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    let threads = min(EngineThreads.count, n)
    guard threads > 1, let pool = EngineThreads.pool else {
        for i in 0..<n { body(i) }
        return
    }
    pool.run(shares: threads) { t in
        let lo = n * t / threads, hi = n * (t + 1) / threads
        for i in lo..<hi { body(i) }
    }
}

/// Runs `body(i, thread)` for every `i` in `0..<n`, each of up to `threads` engine threads claiming
/// the next unclaimed index until none is left; `thread` (0 for the calling thread) is the
/// claimer's, for per-thread scratch.
///
/// Why not fixed halves: the two vCPUs of these virtual machines run at different speeds for
/// minutes at a time (`perf` on a Zen 3 caught one thread 10-24% slower than the other in the same
/// kernels over a whole run, on either vCPU), and with fixed halves the faster thread waited that
/// long at the end of every region. Which thread runs which index changes from run to run, so
/// `body` must compute the same thing whichever thread runs it and write only index `i`'s memory.
@inline(__always)
public func parallelClaim(_ n: Int, threads: Int = EngineThreads.count, _ body: (_ index: Int, _ thread: Int) -> Void) {
    let threads = min(threads, EngineThreads.count, n)
    guard threads > 1, let pool = EngineThreads.pool else {
        for i in 0..<n { body(i, 0) }
        return
    }
    let next = Atomic<Int>(0)
    pool.run(shares: threads) { t in
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < n else { return }
            body(i, t)
        }
    }
}

/// Runs `body(lo, hi)` over `0..<n` split into one contiguous chunk per engine thread: for
/// element-wise loops, where a chunk per index would cost more than the work.
@inline(__always)
public func parallelChunks(_ n: Int, minimumChunk: Int = 16_384, _ body: (Int, Int) -> Void) {
    let chunks = max(1, min(EngineThreads.count, n / minimumChunk))
    if chunks == 1 { body(0, n); return }
    parallelFor(chunks) { t in body(n * t / chunks, n * (t + 1) / chunks) }
}
