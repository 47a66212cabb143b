import CBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// `C[m×n] = alpha · op(A) · op(B) + beta · C`, where `op` transposes when asked.
///
/// Every dense and convolution pass in the engine is one call of this function. A large product is
/// split into `GEMMBlocks.count` blocks of rows (or columns), each a single-threaded
/// `cblas_sgemm`, run on the same threads as the engine's other loops: OpenBLAS's own threads
/// would spin-wait between calls and compete for the cores with that other work. The split
/// depends only on the shape, not on the thread count, so results are the same on any number of
/// threads (`forEachBlock` says why). With `split: false` the product is one call on the calling
/// thread, for code that is already running on one of the engine's threads.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true) {
    // Below about a megaflop the split costs more than it saves; blocks of 16 rows suit the kernels.
    forEachBlock(m: m, n: n, k: k, align: 16, minimumWork: 1 << 19, split: split) { row, rows, col, cols in
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(rows), Int32(cols), Int32(k), alpha,
                    transA ? a + row : a + row * lda, Int32(lda), transB ? b + col * ldb : b + col, Int32(ldb),
                    beta, c + row * ldc + col, Int32(ldc))
    }
}

/// Row-major double-precision matrix product, `C[m×n] = alpha · op(A) · op(B) + beta · C`, split
/// into the same fixed blocks as the single-precision `gemm`. For the few products float32 cannot
/// carry, such as applying a ZCA whitening matrix whose entries reach 1e8 and cancel.
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Double = 1,
                 a: UnsafePointer<Double>, lda: Int,
                 b: UnsafePointer<Double>, ldb: Int,
                 beta: Double = 0,
                 c: UnsafeMutablePointer<Double>, ldc: Int) {
    forEachBlock(m: m, n: n, k: k, align: 8, minimumWork: 1 << 18) { row, rows, col, cols in
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(rows), Int32(cols), Int32(k), alpha,
                    transA ? a + row : a + row * lda, Int32(lda), transB ? b + col * ldb : b + col, Int32(ldb),
                    beta, c + row * ldc + col, Int32(ldc))
    }
}

/// How many blocks `gemm` splits a large product into, whatever the engine's thread count.
///
/// Why fixed: OpenBLAS does not always round a block of a product as it rounds the whole, so a
/// split that followed the thread count made a run's bytes depend on it. Measured with OpenBLAS
/// 0.3.21 (SkylakeX and Cooperlake kernels, 2026-12-06): a 32x10 product over 5,408 (a dense
/// layer after a lone 32-filter convolution, forward) gave 316 of its 320 outputs other last bits
/// in two blocks of 16 rows than in one call; the other shapes tried, the dense layers' backward
/// products among them, gave the same bytes. Two, the split the record was trained with (on two
/// threads); one thread computes both blocks in turn, and a third or fourth thread has no block.
public enum GEMMBlocks {
    public static let count = 2
}

/// Splits `C[m×n]` into `GEMMBlocks.count` blocks of rows (or, when C is wider than tall, of
/// columns), block edges aligned to `align`, and calls `body(row, rows, col, cols)` for each block
/// in parallel; one call with the whole product when asked not to `split` or under `minimumWork`
/// multiply-adds. The blocks depend only on the shape.
@inline(__always)
private func forEachBlock(m: Int, n: Int, k: Int, align: Int, minimumWork: Int, split: Bool = true,
                          _ body: (_ row: Int, _ rows: Int, _ col: Int, _ cols: Int) -> Void) {
    let parts = GEMMBlocks.count
    if !split || m * n * k < minimumWork || (m < 32 && n < 32) {
        body(0, m, 0, n)
        return
    }
    let splitRows = m >= n, size = splitRows ? m : n, mask = ~(align - 1)
    parallelFor(parts) { t in
        let lo = (size * t / parts) & mask, hi = t == parts - 1 ? size : (size * (t + 1) / parts) & mask
        guard hi > lo else { return }
        if splitRows { body(lo, hi - lo, 0, n) } else { body(0, m, lo, hi - lo) }
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

    /// OpenBLAS kernel families that use AVX-512.
    public static let avx512Cores: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
