import Foundation

/// Subnormal floats (below 1.2e-38) flushed to zero during the engine's passes, as TensorFlow
/// computes on CPU.
///
/// Why: late in training some gradients and Adam's second moments (squares of gradients) fall
/// into the subnormal range, and on Intel cores every multiply-add that reads or makes a
/// subnormal takes a microcode assist of a hundred cycles or more. On a 2-core Xeon (family 6,
/// model 207) case 7's epochs slowed from 12 s to 20-28 s over a 20-epoch run, in every seed, and
/// a run resumed from epoch 18 was slow from its first step. TensorFlow sets flush-to-zero and
/// denormals-are-zero on its threads, so this is also what the paper's Keras computed.
///
/// The mode is scoped (`flushingToZero`) rather than left set: other code on the same thread,
/// LAPACK's factorizations for ZCA whitening among them, rescales tiny values in ways that
/// subnormal arithmetic must support. The pool's helpers take the calling thread's mode for
/// each region (`WorkerPool.run`).
public enum Denormals {
    /// MXCSR bit 15 (flush-to-zero: subnormal results become zero) and bit 6
    /// (denormals-are-zero: subnormal inputs are read as zero).
    private static let ftzDaz: UInt32 = 0x8040

    /// Whether the calling thread flushes subnormals to zero; setting it changes the thread's mode.
    public static var flushesToZero: Bool {
        get {
            #if arch(x86_64)
            var env = fenv_t()
            fegetenv(&env)
            return env.__mxcsr & ftzDaz == ftzDaz
            #else
            return false
            #endif
        }
        set {
            #if arch(x86_64)
            var env = fenv_t()
            fegetenv(&env)
            let mode = newValue ? env.__mxcsr | ftzDaz : env.__mxcsr & ~ftzDaz
            if mode != env.__mxcsr {
                env.__mxcsr = mode
                fesetenv(&env)
            }
            #endif
        }
    }

    /// Runs `body` with subnormals flushed to zero on the calling thread (and on the pool's
    /// helpers, in the regions it opens), then restores the thread's mode.
    public static func flushingToZero<T>(_ body: () throws -> T) rethrows -> T {
        let previous = flushesToZero
        flushesToZero = true
        defer { flushesToZero = previous }
        return try body()
    }
}
