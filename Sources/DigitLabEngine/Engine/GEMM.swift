import CBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// `C[m×n] = alpha · op(A) · op(B) + beta · C`, where `op` transposes when asked.
///
/// Every dense and convolution pass in the engine is one call of this function. With more than one
/// engine thread, the product is split into one block of rows (or columns) per thread, each a
/// single-threaded `cblas_sgemm`, run on the same threads as the engine's other loops: OpenBLAS's
/// own threads would spin-wait between calls and compete for the cores with that other work. The
/// split depends only on the shape and the thread count, so results are deterministic.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    let parts = EngineThreads.count
    // Below about a megaflop the split costs more than it saves.
    if parts == 1 || m * n * k < 1 << 19 || (m < 32 && n < 32) {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    if m >= n {
        // Blocks of rows of C and of op(A), aligned to 16 rows for the kernels.
        parallelFor(parts) { t in
            let lo = (m * t / parts) & ~15, hi = t == parts - 1 ? m : (m * (t + 1) / parts) & ~15
            guard hi > lo else { return }
            sgemm(transA, transB, hi - lo, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
        }
    } else {
        // Blocks of columns of C and of op(B).
        parallelFor(parts) { t in
            let lo = (n * t / parts) & ~15, hi = t == parts - 1 ? n : (n * (t + 1) / parts) & ~15
            guard hi > lo else { return }
            sgemm(transA, transB, m, hi - lo, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
        }
    }
}

@inline(__always)
private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                   _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                   _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Row-major double-precision matrix product, `C[m×n] = alpha · op(A) · op(B) + beta · C`, split
/// over the engine's threads like the single-precision `gemm`. For the few products float32 cannot
/// carry, such as applying a ZCA whitening matrix whose entries reach 1e8 and cancel.
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Double = 1,
                 a: UnsafePointer<Double>, lda: Int,
                 b: UnsafePointer<Double>, ldb: Int,
                 beta: Double = 0,
                 c: UnsafeMutablePointer<Double>, ldc: Int) {
    func dgemm(_ m: Int, _ n: Int, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    let parts = EngineThreads.count
    if parts == 1 || m * n * k < 1 << 18 || (m < 32 && n < 32) {
        dgemm(m, n, a, b, c)
        return
    }
    if m >= n {
        parallelFor(parts) { t in
            let lo = (m * t / parts) & ~7, hi = t == parts - 1 ? m : (m * (t + 1) / parts) & ~7
            guard hi > lo else { return }
            dgemm(hi - lo, n, transA ? a + lo : a + lo * lda, b, c + lo * ldc)
        }
    } else {
        parallelFor(parts) { t in
            let lo = (n * t / parts) & ~7, hi = t == parts - 1 ? n : (n * (t + 1) / parts) & ~7
            guard hi > lo else { return }
            dgemm(m, hi - lo, a, transB ? b + lo * ldb : b + lo, c + lo)
        }
    }
}

/// Facts about the BLAS library the engine runs on, for benchmark headers and run records.
public enum BLASRuntime {
    /// The kernel family OpenBLAS chose for this CPU (for example "Haswell", "SkylakeX", "Cooperlake").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
