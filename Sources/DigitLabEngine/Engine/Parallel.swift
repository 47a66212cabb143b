import Foundation
import Dispatch

/// How many threads the engine spreads its work over: its own loops (im2col, col2im, pooling,
/// element-wise work) and its matrix products, which `gemm` splits into single-threaded OpenBLAS
/// calls, one per thread. One by default; runs raise it to the core count.
public enum EngineThreads {
    nonisolated(unsafe) private static var _count = 1
    /// The number of chunks `parallelFor` splits its range into. Setting it above one makes
    /// OpenBLAS single-threaded, since the engine then does the splitting itself.
    public static var count: Int {
        get { _count }
        set {
            _count = max(1, newValue)
            BLASRuntime.setThreads(_count > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount)
        }
    }
}

/// Runs `body(i)` for every `i` in `0..<n`, split into contiguous chunks over `EngineThreads.count`
/// threads. Each index is visited exactly once, and the split depends only on `n` and the thread
/// count, so results are deterministic as long as iterations write disjoint memory.
@inline(__always)
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    let threads = min(EngineThreads.count, n)
    if threads <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableClosure(body)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = n * t / threads, hi = n * (t + 1) / threads
            for i in lo..<hi { box.body(i) }
        }
    }
}

/// Lets a non-escaping closure cross into `concurrentPerform`; safe because each iteration writes
/// disjoint memory and `concurrentPerform` returns only when all are done.
private struct UnsafeSendableClosure: @unchecked Sendable {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

/// Runs `body(lo, hi)` over `0..<n` split into one contiguous chunk per engine thread: for
/// element-wise loops, where a chunk per index would cost more than the work.
@inline(__always)
public func parallelChunks(_ n: Int, minimumChunk: Int = 16_384, _ body: (Int, Int) -> Void) {
    let chunks = max(1, min(EngineThreads.count, n / minimumChunk))
    if chunks == 1 { body(0, n); return }
    parallelFor(chunks) { t in body(n * t / chunks, n * (t + 1) / chunks) }
}
