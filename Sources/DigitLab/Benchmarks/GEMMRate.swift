import DigitLabEngine
import Foundation

/// The rate of one matrix-product shape through the engine's `gemm`, in GFLOP/s.
public struct GEMMRate: Sendable {
    public var label: String
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    /// Median seconds per product.
    public var seconds: Double

    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    public var gflops: Double { flops / seconds / 1e9 }

    /// Times `repeats` products of this shape (after a warm-up) and keeps the median.
    public static func measure(_ label: String, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                               repeats: Int) -> GEMMRate {
        let a = Tensor(shape: [m * k]), b = Tensor(shape: [k * n]), c = Tensor(shape: [m * n])
        var rng = Xoshiro256(seed: 1)
        for i in 0..<a.count { a[i] = rng.nextUnitFloat() }
        for i in 0..<b.count { b[i] = rng.nextUnitFloat() }
        let lda = transA ? m : k, ldb = transB ? k : n
        var times: [Double] = []
        for r in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: lda, b: b.data, ldb: ldb, c: c.data, ldc: n)
            if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
        }
        return GEMMRate(label: label, m: m, n: n, k: k, transA: transA, transB: transB, seconds: median(times) ?? .nan)
    }

    /// The products one training step of a convolution makes at `batch`: forward, weight
    /// gradient, and (except for the first layer) input gradient, as `Conv2D` calls them.
    public static func convolutionShapes(_ model: Model, batch: Int) -> [(label: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool)] {
        var shapes: [(String, Int, Int, Int, Bool, Bool)] = []
        for case let conv as Conv2D in model.layers {
            let rows = batch * conv.geometry.patchesPerImage, k = conv.geometry.patchSize, f = conv.filters
            shapes.append(("\(conv.name) forward", rows, f, k, false, false))
            shapes.append(("\(conv.name) weight gradient", k, f, rows, true, false))
            if conv.computesInputGradient { shapes.append(("\(conv.name) input gradient", rows, k, f, false, true)) }
        }
        return shapes.map { (label: $0.0, m: $0.1, n: $0.2, k: $0.3, transA: $0.4, transB: $0.5) }
    }
}

/// FLOPs of one training image (forward, weight gradients, input gradients but the first
/// layer's) and of one inference image, counted from the model's matrix products.
public func trainingFLOPsPerImage(_ model: Model) -> (training: Double, forward: Double) {
    var forward = 0.0, backward = 0.0
    for layer in model.layers {
        let f = Double(layer.forwardFLOPs)
        forward += f
        if let conv = layer as? Conv2D {
            backward += conv.computesInputGradient ? 2 * f : f
        } else if f > 0 {
            backward += 2 * f
        }
    }
    return (forward + backward, forward)
}
