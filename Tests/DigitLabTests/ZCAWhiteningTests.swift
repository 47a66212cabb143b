import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// ZCA whitening fitted through LAPACK in double precision, against Keras's formula. There is no
/// element-wise reference (see scripts/reference/README.md): the singular values are checked,
/// and that the whitened fit images have identity covariance on the well-conditioned directions.
@Suite("ZCA whitening", .serialized, .engineThreads(alone: true))
struct ZCAWhiteningTests {
    /// Fitted once: featurewise_center + zca_whitening on the reference's 2,000 images.
    static let fitted: Result<(Standardizer, LabeledImages, ReferenceFile), Error> = Result {
        let ref = try DatagenReference.load()
        let fit = try DatagenReference.fitSet(ref)
        let options = Standardization(featurewiseCenter: true, zcaWhitening: true, zcaEpsilon: 1e-6)
        return (try Standardizer.fit(options, on: fit, normalization: .kerasNormalize), fit, ref)
    }

    @Test("centring mean and singular values match the reference's float64 SVD")
    func singularValues() throws {
        let (standardizer, fit, ref) = try Self.fitted.get()
        let zca = try #require(standardizer.zca)
        #expect(zca.count == fit.count && zca.dimension == 784 && zca.epsilon == 1e-6)
        let mean = try ref.floats("datagen/zca_mean")[0]
        #expect(abs(standardizer.mean - mean) <= 1e-6 * abs(mean))
        let expected = try ref.floats("datagen/zca_singular_values").map(Double.init)
        let ours = zca.singularValues
        #expect(ours.count == expected.count)
        #expect(zip(ours, ours.dropFirst()).allSatisfy { $0 >= $1 }, "singular values are not in decreasing order")
        let floor = 1e-3 * expected[0]
        var worst = 0.0, compared = 0
        for (s, e) in zip(ours, expected) where e > floor {
            worst = max(worst, abs(s - e) / e)
            compared += 1
        }
        #expect(worst < 1e-4, "largest relative error \(worst) over the \(compared) singular values above 1e-3 of the largest")
        #expect(ours.filter { $0 > floor }.count == compared, "a different number of well-conditioned directions")
        // The rest are round-off: the pixels that never change in these 2,000 images.
        #expect(ours.filter { $0 < 1e-9 * ours[0] }.count == expected.filter { $0 < 1e-9 * expected[0] }.count)
    }

    @Test("W is Keras's U diag(sqrt(n) / (s + eps)) U^T")
    func matrixForm() throws {
        let (standardizer, _, _) = try Self.fitted.get()
        let zca = try #require(standardizer.zca)
        let d = zca.dimension
        for k in [0, 1, 10, 100, 500] {
            let u = Array(zca.directions[k * d..<(k + 1) * d])
            let f = Double(zca.count).squareRoot() / (zca.singularValues[k] + zca.epsilon)
            var worst = 0.0
            for i in 0..<d {
                var wu = 0.0
                for j in 0..<d { wu += zca.matrix[i * d + j] * u[j] }
                worst = max(worst, abs(wu - f * u[i]))
            }
            // W's entries reach sqrt(n) / eps, about 4.5e7, from the round-off directions, so W u in
            // double precision carries absolute errors of about 1e-8.
            #expect(worst <= 1e-6 * f, "W u_\(k) differs from \(f) u_\(k) by \(worst)")
        }
        var asymmetry = 0.0
        for i in 0..<d { for j in 0..<i { asymmetry = max(asymmetry, abs(zca.matrix[i * d + j] - zca.matrix[j * d + i])) } }
        #expect(asymmetry <= 1e-6, "W is not symmetric: \(asymmetry)")
    }

    @Test("whitened fit images, from the batch assembler, have identity covariance on the well-conditioned directions")
    func identityCovariance() throws {
        let (standardizer, fit, _) = try Self.fitted.get()
        let zca = try #require(standardizer.zca)
        let d = zca.dimension, n = fit.count, batch = 32
        // Whiten every fit image through the training path, in batches of 32.
        var y = [Double](repeating: 0, count: n * d)
        let assembler = BatchAssembler(set: fit, normalization: .kerasNormalize, standardizer: standardizer, capacity: batch)
        let input = Tensor(shape: [batch, 28, 28, 1])
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        defer { labels.deallocate() }
        var rng = Xoshiro256(seed: 0)
        let order = Array(0..<n)
        for range in EpochBatches(count: n, batchSize: batch) {
            assembler.fill(indices: order[range], input: input, labels: labels, rng: &rng)
            for i in 0..<range.count * d { y[range.lowerBound * d + i] = Double(input.data[i]) }
        }
        // Second moments of the whitened data (the data Keras whitens is centred by one scalar, so
        // this is the matrix ZCA makes the identity), then projected on the directions u_k.
        var m = [Double](repeating: 0, count: d * d)
        gemm(transA: true, m: d, n: d, k: n, alpha: 1 / Double(n), a: y, lda: d, b: y, ldb: d, c: &m, ldc: d)
        let good = zca.singularValues.filter { $0 > 1e-3 * zca.singularValues[0] }.count
        #expect(good > 500)
        var mu = [Double](repeating: 0, count: good * d), p = [Double](repeating: 0, count: good * good)
        gemm(transB: true, m: good, n: d, k: d, a: zca.directions, lda: d, b: m, ldb: d, c: &mu, ldc: d)
        gemm(transB: true, m: good, n: good, k: d, a: mu, lda: d, b: zca.directions, ldb: d, c: &p, ldc: good)
        var worst = 0.0
        for i in 0..<good { for j in 0..<good { worst = max(worst, abs(p[i * good + j] - (i == j ? 1 : 0))) } }
        #expect(worst < 1e-3, "largest deviation from the identity over \(good) directions: \(worst)")
    }
}
