import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// The layers and optimizers beyond the paper's model against Keras/TensorFlow: the same inputs
/// and weights must give Keras's outputs, and the same probe `R` Keras's gradients of
/// `Σ output ⊙ R` (`Tests/Reference/keras_layers.safetensors`, written by
/// `scripts/reference/keras_layers_reference.py`). Tolerances as for the paper's layers: 1e-5
/// relative for outputs, 1e-4 for gradients.
@Suite("Keras reference: layers and optimizers beyond the paper", .serialized, .engineThreads)
struct KerasLayersReferenceTests {
    
    let ref: [String: NamedTensor]
    init() throws {
        ref = try ReferenceFiles.load("keras_layers").tensors
    }

    func floats(_ name: String) throws -> [Float] { try #require(ref[name], "the reference has no \(name)").floats }

    func tensor(_ name: String) throws -> Tensor {
        let t = try #require(ref[name], "the reference has no \(name)")
        return Tensor(shape: t.shape, values: t.floats)
    }

    func set(_ t: Tensor, _ name: String) throws {
        let v = try floats(name)
        #expect(v.count == t.count, "\(name): \(v.count) values for \(t.count)")
        v.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: v.count) }
    }

    /// Runs `layer` forward in `mode` on the case's input and backward from its probe; compares the
    /// output, the input gradient and each parameter's gradient with Keras's.
    func compare(_ layer: any Layer, _ name: String, mode: PassMode = .training, batch: Int) throws {
        let input = try tensor(name + "/input")
        let out = layer.forward(input, batch: batch, mode: mode)
        let expected = try floats(name + "/output")
        let err = relativeError(out.prefix(expected.count), expected)
        #expect(err < 1e-5, "\(name) output: relative error \(err)")
        guard mode == .training else { return }
        let probe = try tensor(name + "/probe")
        let dx = layer.backward(probe, batch: batch)
        let dxExpected = try floats(name + "/grad/input")
        let dxErr = relativeError(dx.prefix(dxExpected.count), dxExpected)
        #expect(dxErr < 1e-4, "\(name) input gradient: relative error \(dxErr)")
        for p in layer.parameters {
            let e = relativeError(p.gradient.array, try floats("\(name)/grad/\(p.name)"))
            #expect(e < 1e-4, "\(name) \(p.name) gradient: relative error \(e)")
        }
    }

    @Test("Conv2D with 'same' padding and strides, on im2col and the direct kernels where they fit",
          arguments: [("conv_same", 8, 3, 1, Conv2D.Padding.same), ("conv_same_s2", 5, 3, 2, .same),
                      ("conv_even_same", 4, 2, 1, .same), ("conv_valid_s2", 5, 2, 2, .valid)])
    func convolution(name: String, filters: Int, kernel: Int, strides: Int, padding: Conv2D.Padding) throws {
        let conv = Conv2D(name: name, inputShape: [7, 6, 4], filters: filters, kernelSize: kernel, strides: strides,
                          padding: padding, capacity: 3)
        try set(conv.kernel.value, name + "/kernel")
        try set(conv.bias.value, name + "/bias")
        try compare(conv, name, batch: 3)
    }

    @Test("max pooling with overlapping windows, average pooling tiling and overlapping")
    func poolings() throws {
        try compare(MaxPool2D(name: "max_pool_s1", inputShape: [7, 6, 4], poolSize: 2, strides: 1, capacity: 3), "max_pool_s1", batch: 3)
        try compare(AveragePool2D(name: "avg_pool", inputShape: [7, 6, 4], poolSize: 2, capacity: 3), "avg_pool", batch: 3)
        try compare(AveragePool2D(name: "avg_pool_3s2", inputShape: [7, 6, 4], poolSize: 3, strides: 2, capacity: 3),
                    "avg_pool_3s2", batch: 3)
    }

    @Test("tanh, sigmoid, elu and relu", arguments: [Activation.Function.tanh, .sigmoid, .elu, .relu])
    func activation(_ f: Activation.Function) throws {
        try compare(Activation(name: f.rawValue, function: f, inputShape: [20], capacity: 3), "act_" + f.rawValue, batch: 3)
    }

    @Test("batch normalization: batch statistics and moving updates in training, moving statistics in inference",
          arguments: [("bn_images", [5, 5, 6], 4), ("bn_flat", [10], 6)])
    func batchNormalization(name: String, shape: [Int], batch: Int) throws {
        for mode in [PassMode.training, .inference] {
            let bn = BatchNormalization(name: name, inputShape: shape, capacity: batch)
            let prefix = name + (mode == .training ? "_training" : "_inference")
            try set(bn.gamma.value, prefix + "/gamma")
            try set(bn.beta.value, prefix + "/beta")
            try set(bn.movingMean.value, prefix + "/moving_mean")
            try set(bn.movingVariance.value, prefix + "/moving_variance")
            try compare(bn, prefix, mode: mode, batch: batch)
            if mode == .training {
                for s in bn.state {
                    let e = relativeError(s.value.array, try floats("\(prefix)/after/\(s.name)"))
                    #expect(e < 1e-5, "\(prefix) \(s.name) after the step: relative error \(e)")
                }
            } else {
                #expect(bn.movingMean.value.array == (try floats(prefix + "/moving_mean")), "an inference pass moved the statistics")
            }
        }
    }

    @Test("dropout keeps Keras's values, scaled by 1/(1 - rate), and passes the gradient where it kept them")
    func dropout() throws {
        let layer = Dropout(name: "dropout", inputShape: [50], rate: 0.3, random: RandomSource(Xoshiro256(seed: 1)), capacity: 4)
        let input = try tensor("dropout/input")
        // Keras's mask, read off its output (every input is at least 0.1, so a zero was dropped).
        let keep = try floats("dropout/output").map { $0 != 0 }
        #expect(keep.contains(false) && keep.contains(true))
        let out = layer.forward(input, batch: 4, keeping: keep)
        #expect(relativeError(out.prefix(200), try floats("dropout/output")) < 1e-6)
        let dx = layer.backward(try tensor("dropout/probe"), batch: 4)
        #expect(relativeError(dx.prefix(200), try floats("dropout/grad/input")) < 1e-6)
        // In inference the input passes on untouched.
        #expect(layer.forward(input, batch: 4, mode: .inference) === input)
    }

    @Test("two steps of SGD (plain, momentum, Nesterov), RMSprop (plain; momentum and centered) and Adam",
          arguments: ["sgd", "sgd_momentum", "sgd_nesterov", "rmsprop", "rmsprop_momentum_centered", "adam"])
    func optimizer(_ name: String) throws {
        let p = Parameter(name: "w", shape: [40])
        try set(p.value, "opt/initial")
        let settings: OptimizerSettings = switch name {
        case "sgd": .sgd(SGD.Settings())
        case "sgd_momentum": .sgd(SGD.Settings(learningRate: 0.05, momentum: 0.9))
        case "sgd_nesterov": .sgd(SGD.Settings(learningRate: 0.05, momentum: 0.9, nesterov: true))
        case "rmsprop": .rmsprop(RMSprop.Settings())
        case "rmsprop_momentum_centered": .rmsprop(RMSprop.Settings(learningRate: 0.01, rho: 0.8, momentum: 0.5, centered: true))
        default: .adam(Adam.Settings())
        }
        let optimizer = settings.make(parameters: [p])
        var previous = p.value.array
        for step in 1...2 {
            try set(p.gradient, "opt/grad\(step)")
            optimizer.update()
            let expected = try floats("opt/\(name)/step\(step)")
            // The step taken, not only the weights, so that a wrong step cannot hide behind them.
            let err = relativeError(zip(p.value.array, previous).map { $0 - $1 }, zip(expected, previous).map { $0 - $1 })
            // Adam's steps are about lr = 1e-3 against weights near 1: the step read back from float32
            // weights carries their rounding (6e-8 of the weight), 6e-5 of the step.
            #expect(err < (name == "adam" ? 2e-4 : 1e-5), "\(name) step \(step): relative error \(err)")
            previous = expected
            try set(p.value, "opt/\(name)/step\(step)")
        }
        #expect(optimizer.step == 2)
    }

    @Test("a network with batch normalization between its convolution and ReLU: loss, gradients and moving statistics of a training step, then inference")
    func network() throws {
        let architecture = Architecture(inputShape: [12, 12, 1], layers: [
            Conv2D.Configuration(filters: 32, kernelSize: 3), BatchNormalization.Configuration(), Activation.Configuration(.relu),
            MaxPool2D.Configuration(poolSize: 2), Flatten.Configuration(), Dense.Configuration(units: 10),
            Activation.Configuration(.softmax),
        ])
        let plan = try LayerPlan(architecture)
        #expect(plan.layers.map(\.name) == ["conv1", "bn1", "relu1", "pool1", "flatten", "dense1", "softmax"])
        let model = Model(plan: plan, capacity: 5)
        for (path, p) in model.namedParameters { try set(p.value, "net/init/" + path) }
        for (path, s) in model.namedState { try set(s.value, "net/init/" + path) }
        try set(model.input, "net/input")
        let labels = try #require(ref["net/labels"]).int32s
        let p = model.forward(batch: 5)
        #expect(relativeError(p.prefix(50), try floats("net/probabilities")) < 1e-5)
        let loss = labels.withUnsafeBufferPointer { model.dataLoss(labels: $0.baseAddress!, batch: 5) }
        let refLoss = Double(try floats("net/loss")[0])
        #expect(abs(loss - refLoss) < 1e-5 * refLoss, "loss \(loss) vs \(refLoss)")
        labels.withUnsafeBufferPointer { model.backward(labels: $0.baseAddress!, batch: 5) }
        for (path, p) in model.namedParameters {
            // Batch normalization subtracts the batch mean, so conv1's bias has no effect on the
            // loss: its gradient is zero, and both frameworks' are float round-off (about 1e-7).
            if path == "conv1/bias" {
                #expect(p.gradient.array.allSatisfy { abs($0) < 1e-5 }, "conv1/bias gradient \(p.gradient.array.prefix(4))")
                #expect(try floats("net/grad/" + path).allSatisfy { abs($0) < 1e-5 })
                continue
            }
            let e = relativeError(p.gradient.array, try floats("net/grad/" + path))
            #expect(e < 1e-4, "grad \(path): relative error \(e)")
        }
        #expect(model.namedState.map(\.path) == ["bn1/moving_mean", "bn1/moving_variance"])
        for (path, s) in model.namedState {
            let e = relativeError(s.value.array, try floats("net/after/" + path))
            #expect(e < 1e-5, "\(path) after the step: relative error \(e)")
        }
        let inference = model.forward(batch: 5, mode: .inference)
        #expect(relativeError(inference.prefix(50), try floats("net/inference")) < 1e-5)
    }
}
