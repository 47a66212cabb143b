import Foundation

/// Keras's `BatchNormalization()` over the last axis (channels, or features of a flat sample):
/// `y = gamma · (x - mean) / sqrt(variance + epsilon) + beta`, with
/// - in training passes, the batch's own mean and (biased) variance over every other axis, and
///   the moving statistics updated as Keras does: `moving = moving · momentum + batch · (1 - momentum)`;
/// - in inference passes, the moving mean and variance.
/// `gamma` (ones) and `beta` (zeros) are trained; `moving_mean` (zeros) and `moving_variance`
/// (ones) are state, which the optimizer never touches. Backward is that of the training pass:
/// the gradient flows through the batch statistics as well.
///
/// The statistics are summed sixteen channels at a time (a thread per block of channels), in
/// float over sixty-four rows and in double across them, so a channel's sums do not depend on the
/// thread count.
public final class BatchNormalization: Layer {
    public let name: String
    public let inputShape: [Int]
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let movingMean: StateVariable
    public let movingVariance: StateVariable
    private let output: Tensor
    private let gradInput: Tensor
    /// The last training pass's batch mean and `1 / sqrt(variance + epsilon)`, per channel.
    private let batchMean: Tensor
    private let inverseDeviation: Tensor
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int], momentum: Float = 0.99, epsilon: Float = 1e-3, capacity: Int) {
        self.name = name
        self.inputShape = inputShape
        self.momentum = momentum
        self.epsilon = epsilon
        let c = inputShape.last!
        gamma = Parameter(name: "gamma", shape: [c])
        beta = Parameter(name: "beta", shape: [c])
        movingMean = StateVariable(name: "moving_mean", shape: [c])
        movingVariance = StateVariable(name: "moving_variance", shape: [c])
        for i in 0..<c { gamma.value[i] = 1; movingVariance.value[i] = 1 }
        output = Tensor(shape: [capacity] + inputShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
        batchMean = Tensor(shape: [c])
        inverseDeviation = Tensor(shape: [c])
    }

    public var outputShape: [Int] { inputShape }
    public var parameters: [Parameter] { [gamma, beta] }
    public var state: [StateVariable] { [movingMean, movingVariance] }
    private var channels: Int { inputShape.last! }

    /// Blocks of channels a thread takes: sixteen (one SIMD register), the last perhaps fewer.
    private var blocks: [Range<Int>] { stride(from: 0, to: channels, by: 16).map { $0..<min($0 + 16, channels) } }

    public func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor {
        lastInput = input
        let c = channels, rows = batch * inputShape.reduce(1, *) / c
        let x = input.data, y = output.data
        let blocks = self.blocks, eps = Lanes(repeating: epsilon)
        parallelFor(blocks.count) { k in
            let c0 = blocks[k].lowerBound, w = blocks[k].count
            let mean: Lanes, variance: Lanes
            if mode == .training {
                let m = Lanes(channelSums(rows: rows) { r in loadLanes(x + r * c + c0, w) } / Double(rows))
                let v = Lanes(channelSums(rows: rows) { r in let d = loadLanes(x + r * c + c0, w) - m; return d * d } / Double(rows))
                (mean, variance) = (m, v)
                storeLanes(m, batchMean.data + c0, w)
                storeLanes(1 / (v + eps).squareRoot(), inverseDeviation.data + c0, w)
                let keep = Lanes(repeating: momentum), take = Lanes(repeating: 1 - momentum)
                storeLanes(loadLanes(movingMean.value.data + c0, w) * keep + m * take, movingMean.value.data + c0, w)
                storeLanes(loadLanes(movingVariance.value.data + c0, w) * keep + v * take, movingVariance.value.data + c0, w)
            } else {
                (mean, variance) = (loadLanes(movingMean.value.data + c0, w), loadLanes(movingVariance.value.data + c0, w))
            }
            // As tf.nn.batch_normalization: x · inv + (beta - mean · inv), inv = gamma / sqrt(var + eps).
            let scale = loadLanes(gamma.value.data + c0, w) / (variance + eps).squareRoot()
            let shift = loadLanes(beta.value.data + c0, w) - mean * scale
            for r in 0..<rows { storeLanes(loadLanes(x + r * c + c0, w) * scale + shift, y + r * c + c0, w) }
        }
        return output
    }

    /// With `xhat = (x - mean) · inv` of the training pass: `dbeta = Σ g`, `dgamma = Σ g · xhat`,
    /// `dx = gamma · inv · (g - mean(g) - xhat · mean(g · xhat))`.
    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        let c = channels, rows = batch * inputShape.reduce(1, *) / c
        let x = input.data, g = gradOutput.data, dx = gradInput.data
        let blocks = self.blocks
        parallelFor(blocks.count) { k in
            let c0 = blocks[k].lowerBound, w = blocks[k].count
            let mean = loadLanes(batchMean.data + c0, w), inv = loadLanes(inverseDeviation.data + c0, w)
            let sumG = channelSums(rows: rows) { r in loadLanes(g + r * c + c0, w) }
            let sumGX = channelSums(rows: rows) { r in loadLanes(g + r * c + c0, w) * ((loadLanes(x + r * c + c0, w) - mean) * inv) }
            storeLanes(Lanes(sumG), beta.gradient.data + c0, w)
            storeLanes(Lanes(sumGX), gamma.gradient.data + c0, w)
            let meanG = Lanes(sumG / Double(rows)), meanGX = Lanes(sumGX / Double(rows))
            let factor = loadLanes(gamma.value.data + c0, w) * inv
            for r in 0..<rows {
                let xhat = (loadLanes(x + r * c + c0, w) - mean) * inv
                storeLanes(factor * (loadLanes(g + r * c + c0, w) - meanG - xhat * meanGX), dx + r * c + c0, w)
            }
        }
        return gradInput
    }
}

/// `Σ_r lanes(r)` over `rows` rows, in float sixty-four rows at a time and in double across them.
@inline(__always)
private func channelSums(rows: Int, _ lanes: (Int) -> Lanes) -> SIMD16<Double> {
    var total = SIMD16<Double>(repeating: 0)
    var r = 0
    while r < rows {
        var partial = Lanes(repeating: 0)
        let end = min(r + 64, rows)
        while r < end { partial += lanes(r); r += 1 }
        total += SIMD16<Double>(partial)
    }
    return total
}

/// `w` floats (all sixteen lanes when `w` is 16) into lanes, the rest zero.
@inline(__always)
private func loadLanes(_ p: UnsafePointer<Float>, _ w: Int) -> Lanes {
    if w == 16 { return load(p) }
    var v = Lanes(repeating: 0)
    for j in 0..<w { v[j] = p[j] }
    return v
}

/// The first `w` lanes of `v` to `p`.
@inline(__always)
private func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ w: Int) {
    if w == 16 { store(v, p); return }
    for j in 0..<w { p[j] = v[j] }
}

extension BatchNormalization {
    /// `batch_normalization: {}`: Keras's `BatchNormalization` over the last axis.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "batch_normalization"
        public static let kerasClass = "BatchNormalization"
        public static let help = "normalizes each channel by the batch's statistics in training and moving ones in inference (Keras's BatchNormalization)"
        public static var settings: [LayerSetting<Self>] {
            [.double("momentum", \.momentum, 0...1, openHigh: true, default: 0.99, "weight of the old moving statistics at each training step"),
             .double("epsilon", \.epsilon, 0...1, openLow: true, default: 0.001, "added to the variance before its square root")]
        }

        public var momentum = 0.99
        public var epsilon = 0.001

        public init() {}
        public init(momentum: Double = 0.99, epsilon: Double = 0.001) { self.momentum = momentum; self.epsilon = epsilon }

        public var naming: LayerNaming { .counted("bn") }
        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] { input }

        public func parameters(for input: [Int]) -> [VariableShape] {
            [VariableShape("gamma", [input.last!], .ones), VariableShape("beta", [input.last!], .zeros)]
        }

        public func state(for input: [Int]) -> [VariableShape] {
            [VariableShape("moving_mean", [input.last!], .zeros), VariableShape("moving_variance", [input.last!], .ones)]
        }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .wholeBatch(BatchNormalization(name: name, inputShape: input, momentum: Float(momentum), epsilon: Float(epsilon),
                                           capacity: context.capacity))
        }
    }
}
