import Foundation

/// Subnormal floats (below 1.2e-38) flushed to zero, as TensorFlow computes on CPU.
///
/// Why: late in training some gradients and Adam's second moments (squares of gradients) fall
/// into the subnormal range, and on Intel cores every multiply-add that reads or makes a
/// subnormal takes a microcode assist of a hundred cycles or more. On a 2-core Xeon (family 6,
/// model 207) case 7's epochs slowed from 12 s to 20-28 s over a 20-epoch run, in every seed, and
/// a run resumed from epoch 18 was slow from its first step. TensorFlow sets flush-to-zero and
/// denormals-are-zero on its threads, so this is also what the paper's Keras computed.
public enum Denormals {
    /// Sets flush-to-zero (results) and denormals-are-zero (inputs) on the calling thread. The
    /// engine calls it on its helper threads when they start and on the thread running each
    /// model pass; it costs a few instructions.
    @inline(__always)
    public static func flushToZero() {
        #if arch(x86_64)
        let ftzDaz: UInt32 = 0x8040  // MXCSR bit 15 (FTZ) and bit 6 (DAZ)
        var env = fenv_t()
        fegetenv(&env)
        if env.__mxcsr & ftzDaz != ftzDaz {
            env.__mxcsr |= ftzDaz
            fesetenv(&env)
        }
        #endif
    }

    /// Whether the calling thread flushes subnormals to zero.
    public static var flushesToZero: Bool {
        #if arch(x86_64)
        var env = fenv_t()
        fegetenv(&env)
        return env.__mxcsr & 0x8040 == 0x8040
        #else
        return false
        #endif
    }
}
