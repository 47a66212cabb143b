import DigitLabEngine
import Foundation

/// The rate of one matrix-product shape through the engine's `gemm`, in GFLOP/s.
public struct GEMMRate: Sendable {
    public var label: String
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    /// Products per round: 1 for one product split over the engine's threads, more for a batch's
    /// worth of per-chunk products, each thread making its share on its own buffers.
    public var products: Int
    /// Median seconds per round.
    public var seconds: Double

    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(products) }
    public var gflops: Double { flops / seconds / 1e9 }

    /// Times `repeats` rounds (after a warm-up) and keeps the median. A round is one product split
    /// over the engine's threads, or, with `products` above 1, that many products spread over the
    /// threads as a training step's chunks are: each thread makes its share one after another, as
    /// single-threaded OpenBLAS calls on its own buffers, accumulating with `beta`.
    public static func measure(_ label: String, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                               beta: Float = 0, products: Int = 1, repeats: Int) -> GEMMRate {
        let threads = products > 1 ? max(1, min(EngineThreads.count, products)) : 1
        let buffers = (0..<threads).map { t in
            let a = Tensor(shape: [m * k]), b = Tensor(shape: [k * n]), c = Tensor(shape: [m * n])
            var rng = Xoshiro256(seed: UInt64(t + 1))
            for i in 0..<a.count { a[i] = rng.nextUnitFloat() }
            for i in 0..<b.count { b[i] = rng.nextUnitFloat() }
            return (a: a, b: b, c: c)
        }
        let lda = transA ? m : k, ldb = transB ? k : n
        let seconds = medianSeconds(repeats: repeats) {
            if products == 1 {
                let (a, b, c) = buffers[0]
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: lda, b: b.data, ldb: ldb,
                     beta: beta, c: c.data, ldc: n)
            } else {
                parallelFor(threads) { t in
                    let (a, b, c) = buffers[t]
                    for _ in products * t / threads..<products * (t + 1) / threads {
                        gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: lda, b: b.data, ldb: ldb,
                             beta: beta, c: c.data, ldc: n, split: false)
                    }
                }
            }
        }
        return GEMMRate(label: label, m: m, n: n, k: k, transA: transA, transB: transB, products: products,
                        seconds: seconds)
    }

    /// The median seconds of `repeats` calls of `round`, after one for warm-up.
    private static func medianSeconds(repeats: Int, _ round: () -> Void) -> Double {
        var times: [Double] = []
        for r in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            round()
            if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
        }
        return median(times) ?? .nan
    }

    /// A one-channel convolution's direct kernels (`convolveSingleChannel` and its weight
    /// gradient) on a training step's chunks, spread over the threads as `measure` spreads
    /// products; the shape is counted as the product it replaces (pixels × filters × taps).
    static func measureSingleChannel(_ conv: Conv2D, chunk: Int, products: Int, weightGradient: Bool,
                                     repeats: Int) -> GEMMRate {
        let g = conv.geometry, f = conv.filters
        let threads = max(1, min(EngineThreads.count, products))
        let buffers = (0..<threads).map { t in
            let x = Tensor(shape: [chunk, g.height, g.width, 1]), out = Tensor(shape: [chunk * g.patchesPerImage, f])
            let kernel = Tensor(shape: [g.patchSize, f]), bias = Tensor(shape: [f])
            var rng = Xoshiro256(seed: UInt64(t + 1))
            for i in 0..<x.count { x[i] = rng.nextUnitFloat() }
            for i in 0..<out.count { out[i] = rng.nextUnitFloat() }
            for i in 0..<kernel.count { kernel[i] = rng.nextUnitFloat() }
            return (x: x, out: out, kernel: kernel, bias: bias)
        }
        let seconds = medianSeconds(repeats: repeats) {
            parallelFor(threads) { t in
                let b = buffers[t]
                for _ in products * t / threads..<products * (t + 1) / threads {
                    if weightGradient {
                        convolveSingleChannelWeightGradient(b.x.data, b.out.data, images: 0..<chunk, geometry: g, filters: f,
                                                            kernelGradient: b.kernel.data, biasGradient: b.bias.data)
                    } else {
                        convolveSingleChannel(b.x.data, images: 0..<chunk, geometry: g, kernel: b.kernel.data,
                                              bias: b.bias.data, filters: f, into: b.out.data)
                    }
                }
            }
        }
        let pixels = chunk * g.patchesPerImage
        let (m, k) = weightGradient ? (g.patchSize, pixels) : (pixels, g.patchSize)
        return GEMMRate(label: "\(conv.name) \(weightGradient ? "weight gradient" : "forward"), direct",
                        m: m, n: f, k: k, transA: weightGradient, transB: false, products: products, seconds: seconds)
    }

    /// The products one training step of a convolution makes at `batch`, as `Conv2D` makes them
    /// inside its stage: per chunk of images, forward, weight gradient (accumulated) and, except
    /// for the first layer, input gradient; for a one-channel convolution, its direct kernels.
    public static func measureConvolutions(_ model: Model, batch: Int, repeats: Int) -> [GEMMRate] {
        var rates: [GEMMRate] = []
        for case .stage(let stage) in model.passes {
            for case let conv as Conv2D in stage.layers {
                let chunk = min(stage.imagesPerChunk, batch), products = (batch + chunk - 1) / chunk
                let rows = chunk * conv.geometry.patchesPerImage, k = conv.geometry.patchSize, f = conv.filters
                if conv.convolvesDirectly {
                    for weightGradient in [false, true] {
                        rates.append(measureSingleChannel(conv, chunk: chunk, products: products,
                                                          weightGradient: weightGradient, repeats: repeats))
                    }
                } else {
                    rates.append(measure("\(conv.name) forward", m: rows, n: f, k: k, products: products, repeats: repeats))
                    rates.append(measure("\(conv.name) weight gradient", m: k, n: f, k: rows, transA: true, beta: 1,
                                         products: products, repeats: repeats))
                }
                if conv.computesInputGradient {
                    rates.append(measure("\(conv.name) input gradient", m: rows, n: k, k: f, transB: true,
                                         products: products, repeats: repeats))
                }
            }
        }
        return rates
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
