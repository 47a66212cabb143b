/// A fully connected layer, `out = in · W + b`, as Keras's `Dense(units)`. The kernel is Keras's
/// `[in, out]`. An activation given with it (`activation:` in a spec) is a layer of its own here.
public final class Dense: Layer {
    public let name: String
    public let inputFeatures: Int
    public let units: Int
    public let kernel: Parameter
    public let bias: Parameter
    private let output: Tensor
    private let gradInput: Tensor
    private var lastInput: Tensor?

    public init(name: String, inputFeatures: Int, units: Int, capacity: Int) {
        self.name = name
        self.inputFeatures = inputFeatures
        self.units = units
        kernel = Parameter(name: "kernel", shape: [inputFeatures, units])
        bias = Parameter(name: "bias", shape: [units])
        output = Tensor(shape: [capacity, units])
        gradInput = Tensor(shape: [capacity, inputFeatures])
    }

    public var inputShape: [Int] { [inputFeatures] }
    public var outputShape: [Int] { [units] }
    public var parameters: [Parameter] { [kernel, bias] }
    public var forwardFLOPs: Int { 2 * inputFeatures * units }

    public func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor {
        lastInput = input
        for r in 0..<batch { (output.data + r * units).update(from: bias.value.data, count: units) }
        gemm(m: batch, n: units, k: inputFeatures,
             a: input.data, lda: inputFeatures, b: kernel.value.data, ldb: units,
             beta: 1, c: output.data, ldc: units)
        return output
    }

    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        gemm(transA: true, m: inputFeatures, n: units, k: batch,
             a: input.data, lda: inputFeatures, b: gradOutput.data, ldb: units,
             c: kernel.gradient.data, ldc: units)
        bias.gradient.zero()
        addColumnSums(gradOutput.data, rows: batch, columns: units, into: bias.gradient.data)
        gemm(transB: true, m: batch, n: inputFeatures, k: units,
             a: gradOutput.data, lda: units, b: kernel.value.data, ldb: units,
             c: gradInput.data, ldc: inputFeatures)
        return gradInput
    }
}

extension Dense {
    /// `dense: {units: 64}`: Keras's `Dense`.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "dense"
        public static let kerasClass = "Dense"
        public static let help = "a fully connected layer (Keras's Dense): glorot-uniform kernel, zero bias; needs flat input"
        public static var settings: [LayerSetting<Self>] {
            [.int("units", \.units, 1...4096, "output features; the last dense layer's are the classes"),
             .choice("activation", \.activation, "an activation applied to the output (default: none); softmax on the last layer"),
             .double("l2", \.l2, 0...10, "L2 factor lambda on kernel and bias: the loss gains lambda * sum(w^2) (default: none)")]
        }

        public var units = 0
        public var activation: Activation.Function?
        public var l2: Double?

        public init() {}
        public init(units: Int, activation: Activation.Function? = nil, l2: Double? = nil) {
            self.units = units; self.activation = activation; self.l2 = l2
        }

        public var naming: LayerNaming { .counted("dense") }

        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] {
            guard input.count == 1 else {
                throw LayerProblem("dense needs flat input; its input is \(shapeText(input)) images: put flatten: {} before it")
            }
            return [units]
        }

        public func parameters(for input: [Int]) -> [VariableShape] {
            [VariableShape("kernel", [input[0], units], .glorotUniform), VariableShape("bias", [units], .zeros)]
        }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .wholeBatch(Dense(name: name, inputFeatures: input[0], units: units, capacity: context.capacity))
        }

        public func kernel(for input: [Int], computesInputGradient: Bool) -> String? { "OpenBLAS" }
    }
}
