import DigitLabEngine
import DigitLabTestSupport
import Testing

/// Training and inference passes: dropout drops only in training, batch normalization uses the
/// batch's statistics in training and its moving ones in inference, and the optimizer never
/// touches the moving statistics.
@Suite("Training and inference modes", .engineThreads)
struct ModelModesTests {
    static func model(_ layers: [any LayerConfiguration], capacity: Int = 8) throws -> Model {
        let model = Model(plan: try LayerPlan(Architecture(inputShape: [10, 10, 1], layers: layers)), capacity: capacity)
        model.initialize(seed: 4)
        let x = randomTensor([capacity, 10, 10, 1], seed: 2)
        model.input.copy(from: x)
        return model
    }

    @Test("dropout: inference passes are the network without it; training passes drop about `rate` of the values, anew each pass")
    func dropout() throws {
        let body: [any LayerConfiguration] = [Conv2D.Configuration(filters: 16, kernelSize: 3, activation: .relu), Flatten.Configuration()]
        let head: [any LayerConfiguration] = [Dense.Configuration(units: 10, activation: .softmax)]
        let with = try Self.model(body + [Dropout.Configuration(rate: 0.4)] + head)
        let without = try Self.model(body + head)
        for ((_, p), (_, q)) in zip(with.namedParameters, without.namedParameters) { q.value.copy(from: p.value) }
        let inference = with.forward(batch: 8, mode: .inference).prefix(80)
        #expect(with.forward(batch: 8, mode: .inference).prefix(80) == inference)
        #expect(without.forward(batch: 8, mode: .inference).prefix(80) == inference)
        let first = with.forward(batch: 8, mode: .training).prefix(80)
        let second = with.forward(batch: 8, mode: .training).prefix(80)
        #expect(first != inference && second != first)
        // The dropout layer's own output: the share of zeros among values that were not zero.
        let dropout = try #require(with.layers.first { $0.name == "dropout1" })
        let flat = try #require(with.layers.first { $0.name == "flatten" })
        let x = flat.forward(with.layers[1].forward(with.layers[0].forward(with.input, batch: 8, mode: .training), batch: 8, mode: .training),
                             batch: 8, mode: .training)
        let y = dropout.forward(x, batch: 8, mode: .training)
        let n = 8 * 8 * 8 * 16
        let live = (0..<n).filter { x[$0] != 0 }
        let dropped = Double(live.filter { y[$0] == 0 }.count) / Double(live.count)
        #expect(abs(dropped - 0.4) < 0.05, "dropped \(dropped) of the values, not 0.4")
        #expect(live.allSatisfy { y[$0] == 0 || abs(y[$0] - x[$0] / 0.6) <= 1e-6 * abs(x[$0]) })
        // Seeding again gives the same masks: a run's dropout depends on its seed only.
        with.initialize(seed: 4)
        let again = with.forward(batch: 8, mode: .training).prefix(80)
        with.initialize(seed: 4)
        #expect(with.forward(batch: 8, mode: .training).prefix(80) == again)
    }

    @Test("batch normalization: batch statistics in training, moving ones in inference; the optimizer leaves the moving ones alone")
    func batchNormalization() throws {
        let model = try Self.model([Conv2D.Configuration(filters: 16, kernelSize: 3), BatchNormalization.Configuration(),
                                    Activation.Configuration(.relu), MaxPool2D.Configuration(poolSize: 2), Flatten.Configuration(),
                                    Dense.Configuration(units: 10, activation: .softmax)])
        #expect(model.namedParameters.map(\.path) == ["conv1/kernel", "conv1/bias", "bn1/gamma", "bn1/beta", "dense1/kernel", "dense1/bias"])
        #expect(model.namedState.map(\.path) == ["bn1/moving_mean", "bn1/moving_variance"])
        let moving = model.namedState.map { $0.state.value.array }
        #expect(moving[0].allSatisfy { $0 == 0 } && moving[1].allSatisfy { $0 == 1 })
        let inference = model.forward(batch: 8, mode: .inference).prefix(80)
        #expect(model.namedState.map { $0.state.value.array } == moving, "an inference pass moved the statistics")
        let training = model.forward(batch: 8, mode: .training).prefix(80)
        #expect(training != inference)
        let afterStep = model.namedState.map { $0.state.value.array }
        #expect(afterStep != moving, "a training pass left the moving statistics")
        let labels: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7]
        labels.withUnsafeBufferPointer { model.backward(labels: $0.baseAddress!, batch: 8) }
        let adam = Adam(parameters: model.namedParameters.map(\.parameter))
        adam.update()
        #expect(model.namedState.map { $0.state.value.array } == afterStep, "the optimizer changed the moving statistics")
        #expect(model.forward(batch: 8, mode: .inference).prefix(80) != inference)
    }
}
