/// A 2-D convolution with stride 1 and no padding ("valid"), as Keras's `Conv2D(filters, k)`.
///
/// The whole minibatch is unfolded by `im2col` into one patch matrix, so each pass is a single
/// GEMM: forward `out = col · W + b`, weight gradient `dW = colᵀ · dOut`, input gradient
/// `dCol = dOut · Wᵀ` folded back by `col2im`. The kernel is Keras's HWIO `[kh, kw, in, out]`,
/// which read row-major is already the `[kh·kw·in, out]` matrix the product needs.
public final class Conv2D: Layer {
    public let name: String
    public let geometry: ConvGeometry
    public let filters: Int
    public let kernel: Parameter
    public let bias: Parameter
    /// False for the first layer, whose input is data: its input gradient is never needed.
    public let computesInputGradient: Bool

    private let col: Tensor
    private let output: Tensor
    private let gradCol: Tensor?
    private let gradInput: Tensor?

    public init(name: String, inputShape: [Int], filters: Int, kernelSize: Int,
                capacity: Int, computesInputGradient: Bool = true) {
        precondition(inputShape.count == 3, "Conv2D input must be [height, width, channels]")
        self.name = name
        self.geometry = ConvGeometry(height: inputShape[0], width: inputShape[1], channels: inputShape[2],
                                     kernelHeight: kernelSize, kernelWidth: kernelSize)
        self.filters = filters
        self.computesInputGradient = computesInputGradient
        kernel = Parameter(name: "kernel", shape: [kernelSize, kernelSize, inputShape[2], filters])
        bias = Parameter(name: "bias", shape: [filters])
        let rows = capacity * geometry.patchesPerImage
        col = Tensor(shape: [rows, geometry.patchSize])
        output = Tensor(shape: [capacity, geometry.outHeight, geometry.outWidth, filters])
        gradCol = computesInputGradient ? Tensor(shape: [rows, geometry.patchSize]) : nil
        gradInput = computesInputGradient ? Tensor(shape: [capacity] + inputShape) : nil
    }

    public var inputShape: [Int] { [geometry.height, geometry.width, geometry.channels] }
    public var outputShape: [Int] { [geometry.outHeight, geometry.outWidth, filters] }
    public var parameters: [Parameter] { [kernel, bias] }
    public var forwardFLOPs: Int { 2 * geometry.patchesPerImage * geometry.patchSize * filters }

    public func forward(_ input: Tensor, batch: Int) -> Tensor {
        let rows = batch * geometry.patchesPerImage
        im2col(input.data, batch: batch, geometry: geometry, into: col.data)
        // Start every output row at the bias, then accumulate the product onto it (beta = 1).
        let out = output.data, b = bias.value.data, f = filters
        parallelFor(rows) { r in (out + r * f).update(from: b, count: f) }
        gemm(m: rows, n: filters, k: geometry.patchSize,
             a: col.data, lda: geometry.patchSize, b: kernel.value.data, ldb: filters,
             beta: 1, c: output.data, ldc: filters)
        return output
    }

    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        let rows = batch * geometry.patchesPerImage
        let k = geometry.patchSize
        // dW[k×f] = colᵀ · dOut: the HWIO kernel's own layout.
        gemm(transA: true, m: k, n: filters, k: rows,
             a: col.data, lda: k, b: gradOutput.data, ldb: filters,
             c: kernel.gradient.data, ldc: filters)
        columnSums(gradOutput.data, rows: rows, columns: filters, into: bias.gradient.data)
        guard let gradCol, let gradInput else { return gradOutput }
        gemm(transB: true, m: rows, n: k, k: filters,
             a: gradOutput.data, lda: filters, b: kernel.value.data, ldb: filters,
             c: gradCol.data, ldc: k)
        col2im(gradCol.data, batch: batch, geometry: geometry, into: gradInput.data)
        return gradInput
    }
}

/// `sums[j] = Σ_i m[i, j]` for a row-major matrix: the bias gradient of a dense or conv layer.
func columnSums(_ m: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    sums.update(repeating: 0, count: columns)
    for r in 0..<rows {
        let row = m + r * columns
        for j in 0..<columns { sums[j] += row[j] }
    }
}
