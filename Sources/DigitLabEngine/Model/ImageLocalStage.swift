/// A run of consecutive image-local layers (conv → relu → pool) executed chunk by chunk: each
/// engine thread takes its images through every layer of the stage a few at a time, so a chunk's
/// activations are still in that core's cache when the next layer reads them. In forward the
/// threads claim images as they go (`StageSequence.forward`); in backward the batch is split into
/// one contiguous range of images per thread, since each thread sums its images' parameter
/// gradients on its own.
///
/// A ReLU followed by a MaxPool2D runs as one step: pool, then rectify the maxima (see
/// `MaxPool2D`), so the ReLU's 26x26x64 output is never written or read; the ReLU's own output
/// buffer is left as it was. When the layer before that ReLU is a direct `Conv2D`, all three are
/// one step. In forward, the convolution computes a few output rows at a time into a buffer that
/// stays in L1 and the pooling reads them there, so the convolution's output (conv1's is 173 KB
/// an image) is never written out and read back. In backward, the pooling writes its gradient
/// straight into the convolution's output-gradient buffer in the layout the convolution's
/// kernels read (`Conv2D.outputGradientBlocks`), so conv1's 26x26x64 gradient is written once
/// instead of written, read for the bias gradient, copied and read.
///
/// Parameter gradients are summed per thread and then over threads in a fixed order, so a given
/// batch size and thread count always give the same numbers.
public struct ImageLocalStage {
    public let layers: [any ImageLocalLayer]
    /// Images a thread carries through the stage at once.
    public let imagesPerChunk: Int
    /// `layers[i + 1].inputGradient`: the gradient layer `i` receives in backward.
    private let innerGradients: [Tensor]
    /// What the forward pass runs, in order.
    private let steps: [Step]
    /// What the backward pass runs, in order (last layers first).
    private let backwardSteps: [Step]

    private enum Step {
        /// `layers[i]` on its own.
        case layer(Int)
        /// The ReLU `layers[i]` and the MaxPool2D `layers[i + 1]` together, reading `layers[i - 1]`'s output.
        case rectifiedPool(Int, MaxPool2D)
        /// The direct convolution `layers[i - 1]` and the rectified pooling of `layers[i]` and
        /// `layers[i + 1]`. Forward: the convolution computes a few output rows into its own
        /// buffer and the pooling reads them there (`Conv2D.forward(rows:ofImage:worker:)`), so
        /// the convolution's `output` is never written, and the rows no window covers are never
        /// computed. Backward: the pooling writes into the convolution's gradient blocks.
        case pooledConvolution(Int, Conv2D, MaxPool2D)
    }

    /// At most this many bytes of convolution output (but at least one row of windows) are
    /// computed before the fused step pools them: conv1's rows in fours (two rows of windows,
    /// 26 KB), conv2's ten that its windows cover at once (28 KB), within a 32 KB L1 data cache
    /// (Zen 3; 48 KB on Zen 4 and Zen 5).
    public static let pooledRowBytes = 28 * 1024

    /// Bytes of activations, gradients and scratch a chunk may occupy: about a third of the 1 MB
    /// L2 cache of the cores we run on (Zen 4, Zen 5), leaving room for OpenBLAS's packed blocks.
    public static let chunkBudgetBytes = 384 * 1024

    /// A stage of `layers`, carrying `imagesPerChunk` images at a time, or by default as many as
    /// fit `chunkBudgetBytes`.
    public init(layers: [any ImageLocalLayer], imagesPerChunk: Int? = nil) {
        precondition(!layers.isEmpty, "an empty stage")
        self.layers = layers
        let perImage = layers.reduce(0) { $0 + $1.workingFloatsPerImage } * MemoryLayout<Float>.stride
        self.imagesPerChunk = max(1, imagesPerChunk ?? ImageLocalStage.chunkBudgetBytes / max(perImage, 1))
        innerGradients = layers.dropFirst().map { layer in
            guard let g = layer.inputGradient else { preconditionFailure("\(layer.name) computes no input gradient") }
            return g
        }
        var steps: [Step] = [], i = 0
        while i < layers.count {
            if i > 0, i + 1 < layers.count, layers[i] is ReLU, let pool = layers[i + 1] as? MaxPool2D {
                steps.append(.rectifiedPool(i, pool))
                i += 2
            } else {
                steps.append(.layer(i))
                i += 1
            }
        }
        // A direct convolution followed by a rectified pooling runs as one step both ways.
        var merged: [Step] = [], rest = steps[...]
        while let step = rest.popFirst() {
            if case .layer(let c) = step, let conv = layers[c] as? Conv2D, conv.method == .direct,
               case .rectifiedPool(c + 1, let pool)? = rest.first {
                merged.append(.pooledConvolution(c + 1, conv, pool))
                rest.removeFirst()
            } else {
                merged.append(step)
            }
        }
        self.steps = merged
        backwardSteps = merged.reversed()
    }

    /// The gradient layer `i` receives in backward.
    private func outputGradient(_ i: Int, last gradOutput: Tensor) -> Tensor {
        i == layers.count - 1 ? gradOutput : innerGradients[i]
    }

    /// Calls `body(chunk)` for every chunk of `images`, in order.
    private func forEachChunk(of images: Range<Int>, _ body: (Range<Int>) -> Void) {
        for start in stride(from: images.lowerBound, to: images.upperBound, by: imagesPerChunk) {
            body(start..<min(start + imagesPerChunk, images.upperBound))
        }
    }

    /// One worker per engine thread, but never more than images.
    public static func defaultWorkers(batch: Int) -> Int { max(1, min(EngineThreads.count, batch)) }

    /// Runs the first `batch` images of `input` through every layer in one parallel region, up to
    /// `workers` threads claiming a few images at a time (`StageSequence.forward`); returns the
    /// last layer's output.
    public func forward(_ input: Tensor, batch: Int, workers: Int? = nil) -> Tensor {
        StageSequence(stages: [self]).forward(input, batch: batch, workers: workers)
    }

    /// Back-propagates `gradOutput` through every layer, in reverse, chunk by chunk, in one
    /// parallel region, filling every parameter's gradient; returns the gradient with respect to
    /// the stage's input (or `gradOutput` when the first layer computes none).
    public func backward(_ gradOutput: Tensor, batch: Int, workers: Int? = nil) -> Tensor {
        let workers = workers ?? ImageLocalStage.defaultWorkers(batch: batch)
        prepareBackward(workers: workers)
        parallelFor(workers) { w in backward(gradOutput, worker: w, of: workers, batch: batch) }
        finishBackward(workers: workers)
        return inputGradient ?? gradOutput
    }

    // The passes in parts, for `StageSequence`, which runs several stages in one parallel region:
    // prepare on the calling thread, each worker's share, then finish on the calling thread.

    /// Points every layer at its input for a forward pass of `workers` workers; returns the
    /// tensor the stage's output will be in.
    func prepareForward(_ input: Tensor, workers: Int) -> Tensor {
        var x = input
        for layer in layers {
            layer.prepareForward(input: x, workers: workers)
            x = layer.output
        }
        return x
    }

    /// `images` through every layer, chunk by chunk, with worker `w`'s scratch; `forBackward`
    /// as in `StageSequence.forward`.
    func forward(images: Range<Int>, worker w: Int, forBackward: Bool) {
        forEachChunk(of: images) { images in
            for step in steps {
                switch step {
                case .layer(let i): layers[i].forward(images: images, worker: w)
                case .rectifiedPool(let i, let pool):
                    pool.forward(layers[i - 1].output, images: images, rectify: true, recordingMaxima: forBackward)
                case .pooledConvolution(_, let conv, let pool):
                    forward(conv, pooledBy: pool, images: images, worker: w, forBackward: forBackward)
                }
            }
        }
    }

    /// The fused step's forward: for each image, `pooledRowBytes` worth of the convolution's
    /// rows (at least one row of windows) into its buffer, then pooled and rectified from there.
    private func forward(_ conv: Conv2D, pooledBy pool: MaxPool2D, images: Range<Int>, worker w: Int, forBackward: Bool) {
        let p = pool.poolSize, windowRowBytes = p * conv.geometry.outWidth * conv.filters * MemoryLayout<Float>.stride
        let group = max(1, ImageLocalStage.pooledRowBytes / windowRowBytes)
        for b in images {
            for first in stride(from: 0, to: pool.outputHeight, by: group) {
                let rows = first..<min(first + group, pool.outputHeight)
                let computed = conv.forward(rows: rows.lowerBound * p..<rows.upperBound * p, ofImage: b, worker: w)
                pool.forward(windowRows: computed, image: b, rows: rows, rectify: true, recordingMaxima: forBackward)
            }
        }
    }

    func prepareBackward(workers: Int) {
        for layer in layers { layer.prepareBackward(workers: workers) }
    }

    /// Worker `w`'s share of the backward pass: its images back through every layer, chunk by
    /// chunk, its parameter gradients summed into its own partial sums.
    func backward(_ gradOutput: Tensor, worker w: Int, of workers: Int, batch: Int) {
        // Worker `w` owns images `batch·w/workers ..< batch·(w+1)/workers`.
        forEachChunk(of: batch * w / workers..<batch * (w + 1) / workers) { images in
            for step in backwardSteps {
                switch step {
                case .layer(let i):
                    layers[i].backward(outputGradient(i, last: gradOutput), images: images, worker: w)
                case .rectifiedPool(let i, let pool):
                    pool.backward(outputGradient(i + 1, last: gradOutput), into: .tensor(innerGradients[i - 1]), images: images)
                case .pooledConvolution(let i, let conv, let pool):
                    pool.backward(outputGradient(i + 1, last: gradOutput), into: .filterBlocks(conv.outputGradientBlocks(worker: w)!),
                                  images: images)
                    conv.backwardFromBlocks(images: images, worker: w)
                }
            }
        }
    }

    /// Adds the workers' partial parameter gradients, in a fixed order.
    func finishBackward(workers: Int) {
        for layer in layers { layer.finishBackward(workers: workers) }
    }

    /// The gradient with respect to the stage's input, nil when its first layer computes none.
    public var inputGradient: Tensor? { layers[0].inputGradient }
}
