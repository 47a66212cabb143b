import CBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// `C[m×n] = alpha · op(A) · op(B) + beta · C`, where `op` transposes when asked.
///
/// Every dense and convolution pass in the engine is one call of this function, so the whole
/// engine's speed is OpenBLAS's speed on these shapes.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Facts about the BLAS library the engine runs on, for benchmark headers and run records.
public enum BLASRuntime {
    /// The kernel family OpenBLAS chose for this CPU (for example "Haswell", "SkylakeX", "Cooperlake").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The number of threads OpenBLAS uses for a large GEMM.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
