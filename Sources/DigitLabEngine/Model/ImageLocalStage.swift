/// A run of consecutive image-local layers (a convolution block, and what follows it) executed
/// chunk by chunk: each engine thread takes its images through every layer of the stage a few at
/// a time, so a chunk's activations are still in that core's cache when the next layer reads
/// them. In forward the threads claim images as they go (`StageSequence.forward`); in backward
/// the batch is split into `GradientPartitions.count` contiguous ranges of images, each summing its
/// images' parameter gradients into partial sums of its own, whatever the thread count.
///
/// What runs fused (a `ConvolutionBlock`, a `RectifiedPooling`) the plan decided; a stage runs
/// whatever layers it is given, in order.
///
/// Parameter gradients are summed per partition and then over partitions in a fixed order, so a
/// given batch size always gives the same numbers, on one thread or many.
public struct ImageLocalStage {
    public let layers: [any ImageLocalLayer]
    /// Images a thread carries through the stage at once.
    public let imagesPerChunk: Int
    /// `layers[i + 1].inputGradient`: the gradient layer `i` receives in backward.
    private let innerGradients: [Tensor]

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

    /// One worker per engine thread, but never more than images: for forward passes, where an
    /// image's output is the same whichever thread computes it.
    public static func defaultWorkers(batch: Int) -> Int { max(1, min(EngineThreads.count, batch)) }

    /// Runs the first `batch` images of `input` through every layer in one parallel region, up to
    /// `workers` threads claiming a few images at a time (`StageSequence.forward`); returns the
    /// last layer's output.
    public func forward(_ input: Tensor, batch: Int, workers: Int? = nil, mode: PassMode = .training) -> Tensor {
        StageSequence(stages: [self]).forward(input, batch: batch, workers: workers, mode: mode)
    }

    /// Back-propagates `gradOutput` through every layer, in reverse, chunk by chunk, in one
    /// parallel region, filling every parameter's gradient; returns the gradient with respect to
    /// the stage's input (or `gradOutput` when the first layer computes none). `workers` is the
    /// number of partitions (`GradientPartitions.of(batch:)` by default), not of threads.
    public func backward(_ gradOutput: Tensor, batch: Int, workers: Int? = nil) -> Tensor {
        let workers = workers ?? GradientPartitions.of(batch: batch)
        prepareBackward(workers: workers)
        parallelFor(workers) { w in backward(gradOutput, worker: w, of: workers, batch: batch) }
        finishBackward(workers: workers)
        return inputGradient ?? gradOutput
    }

    // The passes in parts, for `StageSequence`, which runs several stages in one parallel region:
    // prepare on the calling thread, each worker's share, then finish on the calling thread.

    /// Points every layer at its input for a forward pass of `workers` workers in `mode`; returns
    /// the tensor the stage's output will be in.
    func prepareForward(_ input: Tensor, workers: Int, mode: PassMode) -> Tensor {
        var x = input
        for layer in layers {
            layer.prepareForward(input: x, workers: workers, mode: mode)
            x = layer.output
        }
        return x
    }

    /// `images` through every layer, chunk by chunk, with worker `w`'s scratch.
    func forward(images: Range<Int>, worker w: Int) {
        forEachChunk(of: images) { images in
            for layer in layers { layer.forward(images: images, worker: w) }
        }
    }

    func prepareBackward(workers: Int) {
        for layer in layers { layer.prepareBackward(workers: workers) }
    }

    /// Partition `w`'s share of the backward pass: its images back through every layer, chunk by
    /// chunk, its parameter gradients summed into its own partial sums (and its own scratch, so
    /// one thread may run several partitions in turn).
    func backward(_ gradOutput: Tensor, worker w: Int, of workers: Int, batch: Int) {
        // Partition `w` owns images `batch·w/workers ..< batch·(w+1)/workers`.
        forEachChunk(of: batch * w / workers..<batch * (w + 1) / workers) { images in
            for i in layers.indices.reversed() {
                layers[i].backward(outputGradient(i, last: gradOutput), images: images, worker: w)
            }
        }
    }

    /// Adds the partitions' partial parameter gradients, in a fixed order.
    func finishBackward(workers: Int) {
        for layer in layers { layer.finishBackward(workers: workers) }
    }

    /// The gradient with respect to the stage's input, nil when its first layer computes none.
    public var inputGradient: Tensor? { layers[0].inputGradient }
}
