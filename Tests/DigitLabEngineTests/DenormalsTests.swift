import DigitLabEngine
import Foundation
import Testing

/// Subnormal results must become zero on every thread that runs the engine's work, as on
/// TensorFlow's threads: the main thread after a model pass, and the pool's helpers.
@Suite("Denormals")
struct DenormalsTests {
    /// A fraction of the smallest normal float, computed at run time in a call the optimizer
    /// cannot fold or move across a change of the floating-point mode.
    @inline(never)
    func halfSmallestNormal(_ scale: [Float]) -> Float { Float.leastNormalMagnitude * scale[0] }

    /// Clears FTZ and DAZ on the calling thread (a test thread may have run a model pass).
    func keepSubnormals() {
        var env = fenv_t()
        fegetenv(&env)
        env.__mxcsr &= ~UInt32(0x8040)
        fesetenv(&env)
    }

    @Test("after flushToZero a subnormal product is zero, before it it is not")
    func flushesProducts() async {
        let (before, after) = await Task.detached {
            keepSubnormals()
            let kept = halfSmallestNormal([0.5])
            Denormals.flushToZero()
            return (kept, halfSmallestNormal([0.25]))
        }.value
        // Compared as bits: on a thread with denormals-are-zero set, `before > 0` is false.
        #expect(before.bitPattern != 0 && before.isSubnormal)
        #expect(after.bitPattern == 0)
    }

    @Test("the pool's helper threads flush subnormals to zero")
    func helpersFlush() {
        // A pool of its own: the engine's is shared with tests running at the same time.
        let pool = WorkerPool(helpers: 1)
        var flags = [Bool](repeating: false, count: 2), products = [Float](repeating: 1, count: 2)
        flags.withUnsafeMutableBufferPointer { f in
            products.withUnsafeMutableBufferPointer { p in
                pool.run(shares: 2) { i in
                    // The calling thread flushes only once it runs a model pass.
                    if i == 0 { Denormals.flushToZero() }
                    f[i] = Denormals.flushesToZero
                    p[i] = halfSmallestNormal([0.5])
                }
            }
        }
        #expect(flags == [true, true])
        #expect(products.map(\.bitPattern) == [0, 0])
    }
}
