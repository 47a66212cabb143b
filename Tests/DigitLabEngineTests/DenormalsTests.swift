import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// Subnormal results must become zero inside the engine's passes, on the calling thread and on
/// the pool's helpers, as on TensorFlow's threads, and only there: the mode is restored after.
@Suite("Denormals", .engineThreads)
struct DenormalsTests {
    /// A fraction of the smallest normal float, computed at run time in a call the optimizer
    /// cannot fold or move across a change of the floating-point mode.
    @inline(never)
    func fractionOfSmallestNormal(_ scale: [Float]) -> Float { Float.leastNormalMagnitude * scale[0] }

    @Test("inside flushingToZero a subnormal product is zero; outside, before and after, it is not")
    func flushesProductsInScope() async {
        let (before, inside, after) = await Task.detached {
            Denormals.flushesToZero = false
            let before = fractionOfSmallestNormal([0.5])
            let inside = Denormals.flushingToZero { fractionOfSmallestNormal([0.25]) }
            return (before, inside, fractionOfSmallestNormal([0.125]))
        }.value
        // Compared as bits: on a thread with denormals-are-zero set, `x > 0` is false for a subnormal x.
        #expect(before.bitPattern != 0 && before.isSubnormal)
        #expect(inside.bitPattern == 0)
        #expect(after.bitPattern != 0 && after.isSubnormal)
    }

    @Test("the pool's helper threads take the calling thread's mode for each region")
    func helpersFollowTheCaller() async {
        // A pool of its own: the engine's is shared with tests running at the same time.
        let pool = WorkerPool(helpers: 1)
        let results = await Task.detached {
            [false, true, false].map { flush in
                var products = [Float](repeating: 1, count: 2)
                products.withUnsafeMutableBufferPointer { p in
                    Denormals.flushesToZero = flush
                    pool.run(shares: 2) { i in p[i] = fractionOfSmallestNormal([0.5]) }
                    Denormals.flushesToZero = false
                }
                return products.map { $0.bitPattern == 0 }
            }
        }.value
        #expect(results == [[false, false], [true, true], [false, false]])
    }
}
