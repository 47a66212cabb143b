import Foundation

/// An element-wise activation, as Keras's `Activation(...)`: ReLU (`max(x, 0)`, gradient 0 at 0
/// as TensorFlow's), tanh, sigmoid, or ELU (`x` above 0, `exp(x) - 1` below; alpha 1). Each
/// backward reads the layer's output, as TensorFlow's gradients do. Softmax is not built as a
/// layer: the network's last softmax is the head (`SoftmaxCrossEntropy`).
public final class Activation: ImageLocalLayer {
    public enum Function: String, Sendable, CaseIterable {
        case relu, tanh, sigmoid, elu, softmax
    }

    public let name: String
    public let function: Function
    public let inputShape: [Int]
    public let output: Tensor
    private let gradInput: Tensor
    private var input: Tensor?

    public init(name: String, function: Function = .relu, inputShape: [Int], capacity: Int) {
        precondition(function != .softmax, "softmax is the network's head, not a layer")
        self.name = name
        self.function = function
        self.inputShape = inputShape
        output = Tensor(shape: [capacity] + inputShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { inputShape }
    public var inputGradient: Tensor? { gradInput }
    public var workingFloatsPerImage: Int { 2 * output.sampleCount }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) { self.input = input }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input else { preconditionFailure("\(name): forward before prepareForward") }
        let n = output.sampleCount, start = images.lowerBound * n, count = images.count * n
        let x = input.data + start, y = output.data + start
        switch function {
        case .relu: reluForward(x, y, count: count)
        case .tanh: for i in 0..<count { y[i] = tanhf(x[i]) }
        case .sigmoid: for i in 0..<count { y[i] = 1 / (1 + expf(-x[i])) }
        case .elu: for i in 0..<count { y[i] = x[i] > 0 ? x[i] : expm1f(x[i]) }
        case .softmax: preconditionFailure("softmax is the head")
        }
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        let n = output.sampleCount, start = images.lowerBound * n, count = images.count * n
        let y = output.data + start, g = gradOutput.data + start, dx = gradInput.data + start
        switch function {
        case .relu: reluBackward(y, g, dx, count: count)
        case .tanh: for i in 0..<count { dx[i] = g[i] * (1 - y[i] * y[i]) }
        case .sigmoid: for i in 0..<count { dx[i] = g[i] * y[i] * (1 - y[i]) }
        // TensorFlow's EluGrad: (y + 1)·g where the output is negative, g elsewhere.
        case .elu: for i in 0..<count { dx[i] = y[i] < 0 ? g[i] * (y[i] + 1) : g[i] }
        case .softmax: preconditionFailure("softmax is the head")
        }
    }
}

extension Activation {
    /// `activation: {activation: relu}`: an activation layer of its own.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "activation"
        public static let kerasClass = "Activation"
        public static let help = "an element-wise activation (Keras's Activation); softmax only as the last layer"
        public static var settings: [LayerSetting<Self>] {
            [.choice("activation", \.function, "the function: relu, tanh, sigmoid, elu, or softmax (the last layer only)")]
        }

        public var function: Function = .relu

        public init() {}
        public init(_ function: Function) { self.function = function }

        public var naming: LayerNaming { .activation(function) }
        public var role: FusionRole { function == .relu ? .rectifier : .none }
        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] { input }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .imageLocal(Activation(name: name, function: function, inputShape: input, capacity: context.capacity))
        }
    }
}
