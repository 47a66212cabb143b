import DigitLabEngine
import DigitLabTestSupport
import Testing

/// Finite-difference checks of every layer type's backward pass: for a scalar `L = Σ out ⊙ R` with
/// random `R`, the analytic gradients with respect to the input and the parameters must match
/// central differences. Inputs are kept away from the kinks of ReLU and max pooling, so the
/// differences are taken where the function is smooth.
@Suite("Gradient checks", .engineThreads)
struct GradientCheckTests {
    /// Compares analytic and numerical gradients of `L = Σ layer(x) ⊙ R` at a sample of coordinates.
    /// `beforeForward` runs before every forward pass (dropout resets its generator, so every pass
    /// drops the same values).
    func check(_ layer: any Layer, batch: Int, input: Tensor, seed: UInt64 = 7, step: Float = 1e-2,
               tolerance: Double = 2e-2, samples: Int = 60, beforeForward: () -> Void = {}) {
        var rng = Xoshiro256(seed: seed)
        let outCount = batch * layer.outputShape.reduce(1, *)
        let r = Tensor(shape: [batch] + layer.outputShape)
        for i in 0..<outCount { r[i] = rng.uniform(-1, 1) }
        func loss() -> Double {
            beforeForward()
            let out = layer.forward(input, batch: batch, mode: .training)
            var s = 0.0
            for i in 0..<outCount { s += Double(out[i]) * Double(r[i]) }
            return s
        }
        beforeForward()
        _ = layer.forward(input, batch: batch, mode: .training)
        let dx = layer.backward(r, batch: batch)
        let analyticInput = dx === r ? r.prefix(outCount) : dx.prefix(batch * layer.inputShape.reduce(1, *))
        let analyticParams = layer.parameters.map { $0.gradient.array }

        func compare(_ value: UnsafeMutablePointer<Float>, _ count: Int, _ analytic: [Float], _ what: String) {
            var worst = 0.0, scale = 1e-3
            for a in analytic { scale = max(scale, Double(abs(a))) }
            for _ in 0..<samples {
                let i = rng.below(count)
                let saved = value[i]
                value[i] = saved + step; let up = loss()
                value[i] = saved - step; let down = loss()
                value[i] = saved
                let numeric = (up - down) / Double(2 * step)
                worst = max(worst, abs(numeric - Double(analytic[i])) / scale)
            }
            #expect(worst < tolerance, "\(layer.name) \(what): worst relative difference \(worst)")
        }
        compare(input.data, batch * layer.inputShape.reduce(1, *), analyticInput, "input gradient")
        for (p, analytic) in zip(layer.parameters, analyticParams) {
            compare(p.value.data, p.value.count, analytic, p.name + " gradient")
        }
    }

    /// A tensor of random values in ±1 whose magnitudes stay above `gap`, so ReLU kinks are avoided.
    func randomInput(_ shape: [Int], seed: UInt64, gap: Float = 0.05) -> Tensor {
        var rng = Xoshiro256(seed: seed)
        let t = Tensor(shape: shape)
        for i in 0..<t.count {
            let v = rng.uniform(gap, 1)
            t[i] = rng.below(2) == 0 ? v : -v
        }
        return t
    }

    @Test("Conv2D: input, kernel and bias gradients")
    func conv2D() {
        let conv = Conv2D(name: "conv", inputShape: [7, 6, 3], filters: 4, kernelSize: 3, capacity: 2)
        var rng = Xoshiro256(seed: 3)
        GlorotUniform.fill(conv.kernel.value, using: &rng)
        for i in 0..<4 { conv.bias.value[i] = rng.uniform(-0.5, 0.5) }
        check(conv, batch: 2, input: randomInput([2, 7, 6, 3], seed: 1))
    }

    @Test("Dense: input, kernel and bias gradients")
    func dense() {
        let dense = Dense(name: "dense", inputFeatures: 12, units: 5, capacity: 3)
        var rng = Xoshiro256(seed: 4)
        GlorotUniform.fill(dense.kernel.value, using: &rng)
        for i in 0..<5 { dense.bias.value[i] = rng.uniform(-0.5, 0.5) }
        check(dense, batch: 3, input: randomInput([3, 12], seed: 2))
    }

    @Test("ReLU: gradient passes where the output is positive")
    func relu() {
        check(Activation(name: "relu", inputShape: [4, 4, 2], capacity: 2), batch: 2, input: randomInput([2, 4, 4, 2], seed: 5))
    }

    /// Both window sizes: 2x2 takes an unrolled path, others the general loops; 17 channels cover
    /// the SIMD lanes and the scalar leftover.
    @Test("MaxPool2D: gradient goes to each window's maximum, odd sizes drop the last row and column",
          arguments: [2, 3])
    func maxPool(poolSize: Int) {
        // Distinct values, spaced well beyond the finite-difference step, so no window has a tie.
        let shape = [2, 5, 7, 17]
        let count = shape.reduce(1, *)
        var order = Array(0..<count)
        var rng = Xoshiro256(seed: 9)
        rng.shuffle(&order)
        let input = Tensor(shape: shape)
        for i in 0..<count { input[i] = Float(order[i]) * 0.05 - Float(count) * 0.025 }
        check(MaxPool2D(name: "pool", inputShape: [5, 7, 17], poolSize: poolSize, capacity: 2), batch: 2, input: input, step: 1e-2)
    }

    @Test("Conv2D valid, with 'same' padding or strides: input, kernel and bias gradients, on im2col, the direct kernels and Winograd where they fit",
          arguments: [(1, Conv2D.Padding.same, 3), (2, .same, 3), (2, .valid, 2), (1, .same, 2), (1, .valid, 3)])
    func paddedOrStridedConv2D(strides: Int, padding: Conv2D.Padding, kernel: Int) {
        for (channels, choice) in [(3, ConvolutionChoice.im2col), (tileColumns, .direct), (tileColumns, .winograd)] {
            let conv = Conv2D(name: "conv", inputShape: [7, 6, channels], filters: tileColumns, kernelSize: kernel, strides: strides,
                              padding: padding, capacity: 2, convolution: choice)
            switch choice {
            case .winograd where strides == 1 && kernel == 3: #expect(conv.method == .winograd)
            case .direct: #expect(conv.method == (strides == 1 ? .direct : .patchMatrix))
            default: #expect(conv.method != .winograd)
            }
            var rng = Xoshiro256(seed: 3)
            GlorotUniform.fill(conv.kernel.value, using: &rng)
            for i in 0..<conv.bias.value.count { conv.bias.value[i] = rng.uniform(-0.5, 0.5) }
            check(conv, batch: 2, input: randomInput([2, 7, 6, channels], seed: 1), samples: 40)
        }
    }

    @Test("MaxPool2D with windows that overlap (strides 1) or leave gaps (strides 3)", arguments: [(2, 1), (2, 3), (3, 2)])
    func stridedMaxPool(poolSize: Int, strides: Int) {
        let shape = [2, 7, 8, 5]
        var order = Array(0..<shape.reduce(1, *))
        var rng = Xoshiro256(seed: 9)
        rng.shuffle(&order)
        let input = Tensor(shape: shape)
        for i in 0..<order.count { input[i] = Float(order[i]) * 0.05 }
        check(MaxPool2D(name: "pool", inputShape: [7, 8, 5], poolSize: poolSize, strides: strides, capacity: 2), batch: 2, input: input)
    }

    @Test("AveragePool2D: tiling and overlapping windows", arguments: [(2, 2), (3, 2), (2, 1)])
    func averagePool(poolSize: Int, strides: Int) {
        check(AveragePool2D(name: "pool", inputShape: [7, 6, 3], poolSize: poolSize, strides: strides, capacity: 2),
              batch: 2, input: randomInput([2, 7, 6, 3], seed: 4))
    }

    @Test("tanh, sigmoid and ELU", arguments: [Activation.Function.tanh, .sigmoid, .elu])
    func activation(_ f: Activation.Function) {
        check(Activation(name: f.rawValue, function: f, inputShape: [3, 3, 4], capacity: 2), batch: 2,
              input: randomInput([2, 3, 3, 4], seed: 6), step: 1e-3)
    }

    @Test("BatchNormalization in training: gradients through the batch statistics, images and flat samples",
          arguments: [[4, 3, 18], [20]])
    func batchNormalization(shape: [Int]) {
        let bn = BatchNormalization(name: "bn", inputShape: shape, capacity: 3)
        var rng = Xoshiro256(seed: 12)
        for i in 0..<bn.gamma.value.count { bn.gamma.value[i] = rng.uniform(0.5, 1.5); bn.beta.value[i] = rng.uniform(-0.5, 0.5) }
        let input = randomInput([3] + shape, seed: 8)
        for i in 0..<input.count { input[i] = input[i] * 2 + 1 }
        check(bn, batch: 3, input: input, step: 1e-2, tolerance: 2e-2)
    }

    @Test("Dropout: the gradient is the kept values' scale where kept, zero where dropped")
    func dropout() {
        let random = RandomSource(Xoshiro256(seed: 5))
        let layer = Dropout(name: "dropout", inputShape: [30], rate: 0.4, random: random, capacity: 2)
        check(layer, batch: 2, input: randomInput([2, 30], seed: 2)) { random.generator = Xoshiro256(seed: 5) }
    }

    @Test("Softmax cross-entropy: gradient of the mean loss with respect to the logits")
    func softmaxCrossEntropy() {
        let head = SoftmaxCrossEntropy(classes: 10, capacity: 4)
        let logits = randomInput([4, 10], seed: 11)
        for i in 0..<logits.count { logits[i] *= 3 }
        let labels: [Int32] = [3, 0, 9, 3]
        labels.withUnsafeBufferPointer { l in
            head.forward(logits, batch: 4)
            let analytic = head.backward(labels: l.baseAddress!, batch: 4).prefix(40)
            var worst = 0.0
            for i in 0..<40 {
                let saved = logits[i]
                logits[i] = saved + 1e-3; let up = head.lossSum(logits: logits, labels: l.baseAddress!, batch: 4) / 4
                logits[i] = saved - 1e-3; let down = head.lossSum(logits: logits, labels: l.baseAddress!, batch: 4) / 4
                logits[i] = saved
                worst = max(worst, abs((up - down) / 2e-3 - Double(analytic[i])))
            }
            #expect(worst < 1e-3, "softmax cross-entropy worst difference \(worst)")
        }
    }

    @Test("L2 term: the model's loss gradient includes 2·lambda·w for the regularized layer only")
    func l2() {
        let arch = Architecture.paper(inputShape: [10, 10, 1], convFilters: [4], kernelSize: 3, poolSize: 2, denseUnits: [6, 10])
        let model = Model(architecture: arch, capacity: 2, l2: ["conv1": 0.5])
        model.initialize(seed: 1)
        let plain = Model(architecture: arch, capacity: 2)
        plain.copyWeights(from: model)
        let x = randomInput([2, 10, 10, 1], seed: 3)
        model.input.copy(from: x); plain.input.copy(from: x)
        let labels: [Int32] = [1, 7]
        labels.withUnsafeBufferPointer { l in
            model.forward(batch: 2); model.backward(labels: l.baseAddress!, batch: 2)
            plain.forward(batch: 2); plain.backward(labels: l.baseAddress!, batch: 2)
        }
        for ((path, p), (_, q)) in zip(model.namedParameters, plain.namedParameters) {
            for i in 0..<p.value.count {
                let extra = path.hasPrefix("conv1/") ? 2 * 0.5 * p.value[i] : 0
                #expect(abs(p.gradient[i] - q.gradient[i] - extra) <= 1e-5 * max(1, abs(extra)), "\(path)[\(i)]")
            }
        }
        var sum = 0.0
        for (path, p) in model.namedParameters where path.hasPrefix("conv1/") {
            for i in 0..<p.value.count { sum += Double(p.value[i] * p.value[i]) }
        }
        #expect(abs(model.regularizationLoss() - 0.5 * sum) < 1e-6 * sum)
    }
}
