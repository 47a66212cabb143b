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

    /// One pass of a direct convolution (`Conv2D.Method.direct`), through the layer itself, on a
    /// training step's chunks spread over the threads as `measure` spreads products (each thread on
    /// its own copy of the layer); the shape is counted as the product it replaces (pixels ×
    /// filters × taps). The layer's backward with an input gradient also makes the weight gradient,
    /// so the input gradient's time is that backward's less a weight-gradient-only backward timed
    /// in the same round: the median of those differences, which a host whose speed drifts between
    /// two separate medians cannot push below zero or far above the pass's real time.
    static func measureDirect(_ conv: Conv2D, pass: Pass, chunk: Int, products: Int, repeats: Int) -> GEMMRate {
        let g = conv.geometry, f = conv.filters
        let threads = max(1, min(EngineThreads.count, products))
        func copies(inputGradient: Bool) -> [(layer: Conv2D, dOut: Tensor)] {
            (0..<threads).map { t in
                let layer = Conv2D(name: conv.name, inputShape: conv.inputShape, filters: f, kernelSize: g.kernelHeight,
                                   strides: g.stride, padding: conv.padding.top + conv.padding.bottom + conv.padding.left + conv.padding.right > 0 ? .same : .valid,
                                   capacity: chunk, computesInputGradient: inputGradient)
                let x = Tensor(shape: [chunk] + conv.inputShape), dOut = Tensor(shape: [chunk] + conv.outputShape)
                var rng = Xoshiro256(seed: UInt64(t + 1))
                for i in 0..<x.count { x[i] = rng.nextUnitFloat() }
                for i in 0..<dOut.count { dOut[i] = rng.nextUnitFloat() }
                for i in 0..<layer.kernel.value.count { layer.kernel.value[i] = rng.nextUnitFloat() }
                layer.prepareForward(input: x, workers: 1, mode: .training)
                layer.prepareBackward(workers: 1)
                return (layer: layer, dOut: dOut)
            }
        }
        /// Seconds of one round: the batch's chunks of `pass` over the threads.
        func round(_ copies: [(layer: Conv2D, dOut: Tensor)], forward: Bool) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            parallelFor(threads) { t in
                let c = copies[t]
                for _ in products * t / threads..<products * (t + 1) / threads {
                    if forward {
                        c.layer.forward(images: 0..<chunk, worker: 0)
                    } else {
                        c.layer.backward(c.dOut, images: 0..<chunk, worker: 0)
                    }
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        }
        let main = copies(inputGradient: pass == .inputGradient)
        let weightOnly = pass == .inputGradient ? copies(inputGradient: false) : []
        var times: [Double] = []
        for r in 0...repeats {
            var t = round(main, forward: pass == .forward)
            if pass == .inputGradient { t -= round(weightOnly, forward: false) }
            if r > 0 { times.append(t) }
        }
        let seconds = median(times) ?? .nan
        let pixels = chunk * g.patchesPerImage
        let (m, n, k) = switch pass {
        case .forward: (pixels, f, g.patchSize)
        case .weightGradient: (g.patchSize, f, pixels)
        case .inputGradient: (pixels, g.patchSize, f)
        }
        return GEMMRate(label: "\(conv.name) \(pass.rawValue), direct", m: m, n: n, k: k,
                        transA: pass == .weightGradient, transB: pass == .inputGradient, products: products,
                        seconds: max(seconds, 1e-9))
    }

    /// A convolution's pass, as the bench names it.
    enum Pass: String {
        case forward
        case weightGradient = "weight gradient"
        case inputGradient = "input gradient"
    }

    /// The products one training step of a convolution makes at `batch`, as `Conv2D` makes them
    /// inside its stage: per chunk of images, forward, weight gradient (accumulated) and, except
    /// for the first layer, input gradient; for a convolution without a patch matrix, its direct
    /// kernels.
    public static func measureConvolutions(_ model: Model, batch: Int, repeats: Int) -> [GEMMRate] {
        var rates: [GEMMRate] = []
        let stages = model.passes.flatMap { pass -> [ImageLocalStage] in
            if case .stages(let sequence) = pass { return sequence.stages }
            return []
        }
        for stage in stages {
            // The stage's convolutions: a block's own, or one running alone.
            let convolutions = stage.layers.compactMap { ($0 as? ConvolutionBlock)?.convolution ?? $0 as? Conv2D }
            for conv in convolutions {
                let chunk = min(stage.imagesPerChunk, batch), products = (batch + chunk - 1) / chunk
                let rows = chunk * conv.geometry.patchesPerImage, k = conv.geometry.patchSize, f = conv.filters
                if conv.method == .direct {
                    rates.append(measureDirect(conv, pass: .forward, chunk: chunk, products: products, repeats: repeats))
                    rates.append(measureDirect(conv, pass: .weightGradient, chunk: chunk, products: products,
                                               repeats: repeats))
                    if conv.computesInputGradient {
                        rates.append(measureDirect(conv, pass: .inputGradient, chunk: chunk, products: products,
                                                   repeats: repeats))
                    }
                    continue
                }
                rates.append(measure("\(conv.name) forward", m: rows, n: f, k: k, products: products, repeats: repeats))
                rates.append(measure("\(conv.name) weight gradient", m: k, n: f, k: rows, transA: true, beta: 1,
                                     products: products, repeats: repeats))
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
