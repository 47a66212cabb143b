/// Keras's `Dropout(rate)`: in a training pass each value is kept with probability `1 - rate` and
/// scaled by `1 / (1 - rate)` ("inverted" dropout, so that inference needs no scaling), or set to
/// zero; in inference the input passes on unchanged. The keep-or-drop draws come from the
/// network's dropout generator (`LayerContext.random`), one per value, in the batch's order, so
/// a run's masks depend only on its seed and its checkpoints carry the generator on.
///
/// Which values are dropped is the generator's, not TensorFlow's (the two draw different
/// numbers); the rule is Keras's: keep where a uniform draw in [0, 1) is at least `rate`.
public final class Dropout: Layer {
    public let name: String
    public let inputShape: [Int]
    public let rate: Float
    private let random: RandomSource
    private let output: Tensor
    private let gradInput: Tensor
    /// Per value of the last training pass: `1 / (1 - rate)` where kept, 0 where dropped.
    private let mask: Tensor
    /// Whether the last forward pass dropped anything (a training pass with a positive rate).
    private var masked = false

    public init(name: String, inputShape: [Int], rate: Float, random: RandomSource, capacity: Int) {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) outside [0, 1)")
        self.name = name
        self.inputShape = inputShape
        self.rate = rate
        self.random = random
        output = Tensor(shape: [capacity] + inputShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
        mask = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { inputShape }

    public func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor {
        masked = mode == .training && rate > 0
        guard masked else { return input }
        let n = batch * inputShape.reduce(1, *), scale = 1 / (1 - rate)
        let x = input.data, y = output.data, m = mask.data
        for i in 0..<n {
            let keep = random.generator.nextUnitFloat() >= rate
            m[i] = keep ? scale : 0
            y[i] = keep ? x[i] * scale : 0
        }
        return output
    }

    /// The gradient of the last forward pass: the output gradient where a value was kept, scaled
    /// as the value was.
    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        guard masked else { return gradOutput }
        let n = batch * inputShape.reduce(1, *), g = gradOutput.data, m = mask.data, dx = gradInput.data
        for i in 0..<n { dx[i] = g[i] * m[i] }
        return gradInput
    }

    /// Uses `mask` (a keep-or-drop per value, as 1 or 0) instead of drawing one: for checking the
    /// layer against another framework's output, whose draws this generator cannot make.
    public func forward(_ input: Tensor, batch: Int, keeping keep: [Bool]) -> Tensor {
        let n = batch * inputShape.reduce(1, *), scale = 1 / (1 - rate)
        precondition(keep.count == n, "a mask of \(keep.count) for \(n) values")
        masked = true
        for i in 0..<n {
            mask[i] = keep[i] ? scale : 0
            output[i] = keep[i] ? input[i] * scale : 0
        }
        return output
    }
}

extension Dropout {
    /// `dropout: {rate: 0.25}`: Keras's `Dropout`.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "dropout"
        public static let kerasClass = "Dropout"
        public static let help = "drops each value with probability rate in training, scaling the kept ones by 1/(1-rate) (Keras's Dropout)"
        public static var settings: [LayerSetting<Self>] {
            [.double("rate", \.rate, 0...1, openHigh: true, "the fraction of values dropped in training, in [0, 1)")]
        }

        public var rate = 0.0

        public init() {}
        public init(rate: Double) { self.rate = rate }

        public var naming: LayerNaming { .counted("dropout") }
        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] { input }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .wholeBatch(Dropout(name: name, inputShape: input, rate: Float(rate), random: context.random, capacity: context.capacity))
        }
    }
}
