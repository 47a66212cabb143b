import CLAPACKE
import DigitLabEngine
import Foundation

/// ZCA whitening as Keras 3's `ImageDataGenerator.fit` computes it: for the `n` centred training
/// images as the columns of `X` (`pixels × n`), `u, s = svd(X)` and
/// `W = u · diag(sqrt(n) / (s + epsilon)) · uᵀ`; `standardize` then multiplies each flattened image by
/// `W`. The epsilon is added to the singular value, not to the variance.
///
/// Fitted in double precision through LAPACK. On MNIST about a fifth of the singular values are
/// round-off (pixels that never change, which centring by one scalar mean makes identical), and
/// `W` scales those directions by `sqrt(n) / epsilon`, about 1e8 on the full training set; in
/// float32 the cancellation between such entries leaves errors of order 1 in the whitened
/// images. So `W` is built and applied in double precision (one `dgemm` per batch, about 20
/// megaflops for 32 images).
///
/// The fit never holds the whole `pixels × n` matrix: it is reduced in chunks of images by a
/// streaming LQ factorization (`[L | next chunk] = L' Q`, LAPACK `dgelqf`), so `X = L Q` with `Q`
/// orthonormal rows, and `X`'s left singular vectors and singular values are those of the small
/// triangular `L` (`dgesdd`). This is as accurate as an SVD of `X` itself, unlike an eigensolver
/// on `X Xᵀ`, which squares the condition number.
public struct ZCAWhitening: Sendable {
    /// Pixels per image.
    public let dimension: Int
    /// Images the whitening was fitted on (`n`).
    public let count: Int
    public let epsilon: Double
    /// The singular values of the centred data, largest first.
    public let singularValues: [Double]
    /// The left singular vectors, one per row (row `k`, `dimension` values, goes with
    /// `singularValues[k]`).
    public let directions: [Double]
    /// `W`, `dimension × dimension`, symmetric.
    public let matrix: [Double]

    /// OpenBLAS threads for the fit's LAPACK work, whatever the engine's thread count (see `fit`).
    public static let lapackThreads = 2

    /// Fits on `count` images; `image(n, out)` writes image `n`, flattened and centred, as
    /// `dimension` doubles.
    public static func fit(count n: Int, dimension d: Int, epsilon: Double, chunk: Int = 4096,
                           image: (Int, UnsafeMutablePointer<Double>) -> Void) throws -> ZCAWhitening {
        guard n > 0, d > 0 else { throw DataError("ZCA whitening", "needs at least one image to fit on") }
        // Column-major d × (d + chunk): the running L in the first d columns, then a chunk of
        // images, one per column (a flattened image is exactly one column).
        let columns = d + min(chunk, n)
        let b = UnsafeMutablePointer<Double>.allocate(capacity: d * columns)
        b.initialize(repeating: 0, count: d * columns)
        let tau = UnsafeMutablePointer<Double>.allocate(capacity: d)
        defer { b.deallocate(); tau.deallocate() }

        // The products and factorizations below are LAPACK's blocked code; let OpenBLAS use two
        // threads for them (runs keep it single-threaded for the engine's own split). Two, not
        // the engine's count: OpenBLAS splits some of LAPACK's steps by its thread count, and a
        // run's numbers must not depend on the engine's (`GEMMBlocks`); two is what the record's
        // runs (on two engine threads) gave it.
        let blasThreads = BLASRuntime.threads
        BLASRuntime.setThreads(ZCAWhitening.lapackThreads)
        defer { BLASRuntime.setThreads(blasThreads) }

        var start = 0
        while start < n {
            let c = min(columns - d, n - start)
            for j in 0..<c { image(start + j, b + (d + j) * d) }
            let info = LAPACKE_dgelqf(LAPACK_COL_MAJOR, Int32(d), Int32(d + c), b, Int32(d), tau)
            guard info == 0 else { throw DataError("ZCA whitening", "LAPACK dgelqf failed (info \(info))") }
            // Keep L, the lower triangle of the first d columns; clear the reflectors above it.
            for j in 1..<d { (b + j * d).update(repeating: 0, count: j) }
            start += c
        }

        var s = [Double](repeating: 0, count: d)
        var u = [Double](repeating: 0, count: d * d)
        var vt = [Double](repeating: 0, count: d * d)
        let info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "S")), Int32(d), Int32(d), b, Int32(d),
                                  &s, &u, Int32(d), &vt, Int32(d))
        guard info == 0 else { throw DataError("ZCA whitening", "LAPACK dgesdd failed (info \(info))") }

        // u is column-major (column k = direction k), so read row-major it is R = uᵀ, one
        // direction per row, and W = Rᵀ · diag(sqrt(n) / (s + eps)) · R.
        let directions = u
        var scaled = u
        for k in 0..<d {
            let f = Double(n).squareRoot() / (s[k] + epsilon)
            for i in 0..<d { scaled[k * d + i] *= f }
        }
        var w = [Double](repeating: 0, count: d * d)
        directions.withUnsafeBufferPointer { r in
            scaled.withUnsafeBufferPointer { sc in
                w.withUnsafeMutableBufferPointer { wp in
                    gemm(transA: true, m: d, n: d, k: d, a: r.baseAddress!, lda: d, b: sc.baseAddress!, ldb: d,
                         c: wp.baseAddress!, ldc: d)
                }
            }
        }
        return ZCAWhitening(dimension: d, count: n, epsilon: epsilon, singularValues: s, directions: directions, matrix: w)
    }

    /// Whitens `n` flattened images at `x` in place (`x ← x · W`), in double precision;
    /// `scratch` holds `2 · n · dimension` doubles.
    public func apply(_ x: UnsafeMutablePointer<Float>, count n: Int, scratch: UnsafeMutablePointer<Double>) {
        let d = dimension, total = n * d
        let input = scratch, output = scratch + total
        for i in 0..<total { input[i] = Double(x[i]) }
        matrix.withUnsafeBufferPointer { w in
            gemm(m: n, n: d, k: d, a: input, lda: d, b: w.baseAddress!, ldb: d, c: output, ldc: d)
        }
        for i in 0..<total { x[i] = Float(output[i]) }
    }
}
