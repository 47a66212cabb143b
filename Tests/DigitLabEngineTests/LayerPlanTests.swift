import DigitLabEngine
import Testing

/// The plan: Keras's names, shapes, parameters and state, the fused steps found whatever stands
/// around them, and a problem with a layer pointing at that layer.
@Suite("Layer plan")
struct LayerPlanTests {
    @Test("the paper's shorthand plans as the paper's Keras model: names, shapes, parameters, three conv blocks")
    func paper() throws {
        let plan = try LayerPlan(.paper(denseUnits: [64, 32, 10]))
        #expect(plan.layers.map(\.name) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3",
                                            "flatten", "dense1", "relu_d1", "dense2", "relu_d2", "dense3", "softmax"])
        #expect(plan.layers.map(\.outputShape) == [[26, 26, 64], [26, 26, 64], [13, 13, 64], [11, 11, 64], [11, 11, 64], [5, 5, 64],
                                                    [3, 3, 64], [3, 3, 64], [1, 1, 64], [64], [64], [64], [32], [32], [10], [10]])
        #expect(plan.parameterShapes.map(\.path) == ["conv1/kernel", "conv1/bias", "conv2/kernel", "conv2/bias", "conv3/kernel",
                                                     "conv3/bias", "dense1/kernel", "dense1/bias", "dense2/kernel", "dense2/bias",
                                                     "dense3/kernel", "dense3/bias"])
        // Keras's model.summary() for the paper's model: 640 + 2 · 36,928 + 4,160 + 2,080 + 330.
        #expect(plan.parameterCount == 640 + 2 * 36_928 + 4_160 + 2_080 + 330)
        #expect(plan.stateCount == 0 && plan.classes == 10 && plan.headName == "softmax")
        var blocks = 0
        for step in plan.steps {
            if case let .convolutionBlock(c, r, p, _) = step {
                #expect(r == c + 1 && p == c + 2)
                blocks += 1
            }
        }
        #expect(blocks == 3)
        guard case .head(15) = plan.steps.last! else { Issue.record("the softmax is not the head"); return }
        #expect(!plan.layers[0].computesInputGradient && plan.layers[3].computesInputGradient)
    }

    @Test("conv → relu → pool is one block whatever stands around it; batch normalization between conv and ReLU leaves a rectified pooling")
    func fusionFoundByThePlan() throws {
        let around = Architecture(inputShape: [28, 28, 1], layers: [
            BatchNormalization.Configuration(), Conv2D.Configuration(filters: 64, kernelSize: 3), Activation.Configuration(.relu),
            MaxPool2D.Configuration(poolSize: 2), Dropout.Configuration(rate: 0.2), BatchNormalization.Configuration(),
            Conv2D.Configuration(filters: 64, kernelSize: 3, padding: .same, activation: .relu), MaxPool2D.Configuration(poolSize: 2),
            Conv2D.Configuration(filters: 64, kernelSize: 3), BatchNormalization.Configuration(), Activation.Configuration(.relu),
            MaxPool2D.Configuration(poolSize: 2), Flatten.Configuration(), Dense.Configuration(units: 10, activation: .softmax),
        ])
        let plan = try LayerPlan(around)
        #expect(plan.layers.map(\.name) == ["bn1", "conv1", "relu1", "pool1", "dropout1", "bn2", "conv2", "pool2", "conv3", "bn3",
                                            "relu3", "pool3", "flatten", "dense1"])
        let kinds = plan.steps.map { step -> String in
            switch step {
            case .layer(let i): "layer \(plan.layers[i].name)"
            case let .convolutionBlock(c, r, p, _): "block \(plan.layers[c].name) \(r.map { plan.layers[$0].name } ?? "-") \(plan.layers[p].name)"
            case let .rectifiedPooling(r, p): "rectified \(plan.layers[r].name) \(plan.layers[p].name)"
            case .head(let i): "head \(plan.layers[i].name)"
            }
        }
        #expect(kinds == ["layer bn1", "block conv1 relu1 pool1", "layer dropout1", "layer bn2", "block conv2 - pool2",
                          "layer conv3", "layer bn3", "rectified relu3 pool3", "layer flatten", "layer dense1"])
        #expect(plan.headName == "dense1" && plan.classes == 10)
        // conv1 follows a layer: it passes a gradient back, so its channels (1) keep it off the direct kernels.
        if case let .convolutionBlock(_, _, _, fused) = plan.steps[1] { #expect(!fused) }
        // bn: gamma and beta trained, moving statistics as state, under Keras's names.
        #expect(plan.stateShapes.map(\.path) == ["bn1/moving_mean", "bn1/moving_variance", "bn2/moving_mean", "bn2/moving_variance",
                                                 "bn3/moving_mean", "bn3/moving_variance"])
        #expect(plan.parameterShapes.first.map { $0.path } == "bn1/gamma")
    }

    @Test("windows that do not tile (strides other than the window) are not fused")
    func stridedPoolingNotFused() throws {
        let plan = try LayerPlan(Architecture(inputShape: [12, 12, 1], layers: [
            Conv2D.Configuration(filters: 32, kernelSize: 3), Activation.Configuration(.relu), MaxPool2D.Configuration(poolSize: 2, strides: 1),
            Flatten.Configuration(), Dense.Configuration(units: 10), Activation.Configuration(.softmax),
        ]))
        #expect(plan.layers[2].outputShape == [9, 9, 32])
        guard case .layer(0) = plan.steps[0], case .layer(1) = plan.steps[1], case .layer(2) = plan.steps[2] else {
            Issue.record("planned \(plan.steps)"); return
        }
    }

    @Test("a problem names the layer: dense before flatten, a shrinking stack, misplaced softmax, no softmax, L2 on a layer without weights")
    func problems() {
        func problem(_ layers: [any LayerConfiguration], l2: [String: Float] = [:], input: [Int] = [28, 28, 1]) -> LayerPlan.Problem? {
            do { _ = try LayerPlan(Architecture(inputShape: input, layers: layers), l2: l2); return nil } catch { return error }
        }
        let head: [any LayerConfiguration] = [Flatten.Configuration(), Dense.Configuration(units: 10, activation: .softmax)]
        let dense = problem([Conv2D.Configuration(filters: 8, kernelSize: 3), Dense.Configuration(units: 10, activation: .softmax)])
        #expect(dense?.index == 1 && dense?.message.contains("flatten") == true)
        let shrink = problem([Conv2D.Configuration(filters: 8, kernelSize: 5), MaxPool2D.Configuration(poolSize: 4),
                              Conv2D.Configuration(filters: 8, kernelSize: 7)] + head)
        #expect(shrink?.index == 2 && shrink?.message.contains("nothing") == true, "\(String(describing: shrink))")
        let pool = problem([MaxPool2D.Configuration(poolSize: 8)] + head, input: [6, 6, 1])
        #expect(pool?.index == 0 && pool?.message.contains("nothing") == true)
        let early = problem([Flatten.Configuration(), Dense.Configuration(units: 20, activation: .softmax),
                             Dense.Configuration(units: 10, activation: .softmax)])
        #expect(early?.index == 1 && early?.message.contains("softmax") == true)
        let none = problem([Flatten.Configuration(), Dense.Configuration(units: 10)])
        #expect(none?.index == 1 && none?.message.contains("softmax") == true)
        let l2 = problem(head, l2: ["flatten": 0.1])
        #expect(l2?.index == nil && l2?.message.contains("not a layer with weights") == true)
        #expect(problem(head, l2: ["dense1": 0.1]) == nil)
    }

    @Test("'same' padding keeps the size (ceil at strides 2); layer names stay unique")
    func shapes() throws {
        let plan = try LayerPlan(Architecture(inputShape: [28, 28, 1], layers: [
            Conv2D.Configuration(filters: 32, kernelSize: 3, padding: .same), Activation.Configuration(.relu), Activation.Configuration(.relu),
            Conv2D.Configuration(filters: 16, kernelSize: 3, strides: 2, padding: .same), AveragePool2D.Configuration(poolSize: 3, strides: 2),
            Flatten.Configuration(), Dropout.Configuration(rate: 0.5), Dense.Configuration(units: 10), Activation.Configuration(.softmax),
        ]))
        #expect(plan.layers.map(\.name) == ["conv1", "relu1", "relu1_2", "conv2", "pool1", "flatten", "dropout1", "dense1", "softmax"])
        #expect(plan.layers.map(\.outputShape)[0...4] == [[28, 28, 32], [28, 28, 32], [28, 28, 32], [14, 14, 16], [6, 6, 16]])
    }
}
