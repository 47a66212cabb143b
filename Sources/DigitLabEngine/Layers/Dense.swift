/// A fully connected layer, `out = in · W + b`, as Keras's `Dense(units)` (no activation: the
/// paper's model adds its ReLUs as separate layers). The kernel is Keras's `[in, out]`.
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

    public func forward(_ input: Tensor, batch: Int) -> Tensor {
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
