/// ReLU followed by max pooling, run as one step: pool, then rectify the maxima (see `MaxPool2D`),
/// so the ReLU's output is never written or read (its buffer is left as it was). Backward writes
/// the gradient with respect to the ReLU's input into the ReLU's input-gradient buffer. The plan
/// (`LayerPlan`) makes one wherever a ReLU stands just before a max pooling whose windows tile
/// the image.
public final class RectifiedPooling: ImageLocalLayer {
    public let rectifier: Activation
    public let pooling: MaxPool2D
    private var input: Tensor?
    private var recording = true

    public init(rectifier: Activation, pooling: MaxPool2D) {
        precondition(rectifier.function == .relu && pooling.strides == pooling.poolSize, "a rectified pooling is ReLU then tiling windows")
        self.rectifier = rectifier
        self.pooling = pooling
    }

    public var name: String { rectifier.name + " → " + pooling.name }
    public var inputShape: [Int] { rectifier.inputShape }
    public var outputShape: [Int] { pooling.outputShape }
    public var output: Tensor { pooling.output }
    public var inputGradient: Tensor? { rectifier.inputGradient }
    public var workingFloatsPerImage: Int { rectifier.workingFloatsPerImage + pooling.workingFloatsPerImage }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) {
        self.input = input
        recording = mode == .training
    }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input else { preconditionFailure("\(name): forward before prepareForward") }
        pooling.forward(input, images: images, rectify: true, recordingMaxima: recording)
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        pooling.backward(gradOutput, into: .tensor(rectifier.inputGradient!), images: images)
    }
}

/// The paper's block, a convolution, its ReLU and a max pooling, as one step: the plan makes one
/// wherever a convolution with a ReLU (its own activation, or the next layer) stands before a max
/// pooling whose windows tile the image, whatever comes before or after.
///
/// When the convolution is direct (`Conv2D.Method.direct`), all three are fused. In forward, the
/// convolution computes a few output rows at a time into a buffer that stays in L1 and the pooling
/// reads them there, so the convolution's output (conv1's is 173 KB an image) is never written
/// out and read back, and the rows and columns no window covers are never computed. In backward, the pooling
/// writes its gradient straight into the convolution's output-gradient buffer in the layout the
/// convolution's kernels read (`Conv2D.outputGradientBlocks`), so conv1's 26x26x64 gradient is
/// written once instead of written, read for the bias gradient, copied and read. Otherwise the
/// convolution runs alone and the ReLU and pooling as a `RectifiedPooling`; a Winograd
/// convolution then computes only the outputs the pooling's windows cover.
public final class ConvolutionBlock: ImageLocalLayer {
    public let convolution: Conv2D
    public let pooling: RectifiedPooling
    /// Whether the three run as one step (a direct convolution).
    public let fused: Bool
    private var recording = true

    /// At most this many bytes of convolution output (but at least one row of windows) are
    /// computed before the fused step pools them: conv1's rows in fours (two rows of windows,
    /// 26 KB), conv2's ten that its windows cover at once (28 KB), within a 32 KB L1 data cache
    /// (Zen 3; 48 KB on Zen 4 and Zen 5).
    public static let pooledRowBytes = 28 * 1024

    public init(convolution: Conv2D, pooling: RectifiedPooling) {
        self.convolution = convolution
        self.pooling = pooling
        fused = convolution.method == .direct
    }

    public var name: String { convolution.name + " → " + pooling.name }
    public var inputShape: [Int] { convolution.inputShape }
    public var outputShape: [Int] { pooling.outputShape }
    public var parameters: [Parameter] { convolution.parameters }
    public var output: Tensor { pooling.output }
    public var inputGradient: Tensor? { convolution.inputGradient }
    public var forwardFLOPs: Int { convolution.forwardFLOPs }
    public var workingFloatsPerImage: Int { convolution.workingFloatsPerImage + pooling.workingFloatsPerImage }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) {
        convolution.prepareForward(input: input, workers: workers, mode: mode)
        pooling.prepareForward(input: convolution.output, workers: workers, mode: mode)
        recording = mode == .training
    }

    public func forward(images: Range<Int>, worker: Int) {
        guard fused else {
            // Only the rows and columns the pooling's windows cover (on the Winograd path).
            let pool = pooling.pooling
            convolution.forward(images: images, worker: worker,
                                region: (pool.outputHeight * pool.poolSize, pool.outputWidth * pool.poolSize))
            pooling.forward(images: images, worker: worker)
            return
        }
        // For each image, `pooledRowBytes` worth of the convolution's rows (at least one row of
        // windows) into its buffer, then pooled and rectified from there.
        let pool = pooling.pooling, conv = convolution
        let p = pool.poolSize, windowRowBytes = p * conv.geometry.outWidth * conv.filters * MemoryLayout<Float>.stride
        let group = max(1, ConvolutionBlock.pooledRowBytes / windowRowBytes)
        conv.padInput(images: images)
        for b in images {
            for first in stride(from: 0, to: pool.outputHeight, by: group) {
                let rows = first..<min(first + group, pool.outputHeight)
                let computed = conv.forward(rows: rows.lowerBound * p..<rows.upperBound * p, ofImage: b,
                                            columns: pool.outputWidth * p, worker: worker)
                pool.forward(windowRows: computed, image: b, rows: rows, rectify: true, recordingMaxima: recording)
            }
        }
    }

    public func prepareBackward(workers: Int) {
        convolution.prepareBackward(workers: workers)
        pooling.prepareBackward(workers: workers)
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        if fused {
            pooling.pooling.backward(gradOutput, into: .filterBlocks(convolution.outputGradientBlocks(worker: worker)!), images: images)
            convolution.backwardFromBlocks(images: images, worker: worker)
        } else {
            pooling.backward(gradOutput, images: images, worker: worker)
            convolution.backward(pooling.inputGradient!, images: images, worker: worker)
        }
    }

    public func finishBackward(workers: Int) {
        convolution.finishBackward(workers: workers)
        pooling.finishBackward(workers: workers)
    }
}
