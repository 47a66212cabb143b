/// A layer whose output for an image depends on that image alone (convolution, activation,
/// pooling), so it can run on any range of the batch, on the calling thread.
///
/// The model carries a few images at a time through a run of such layers (a stage, see
/// `ImageLocalStage`), so that an image's activations stay in the core's cache from one layer to
/// the next instead of streaming the whole batch through memory once per layer: the first block's
/// activations are 26x26x64 floats (173 KB) an image, 5.5 MB for a batch of 32.
///
/// The `prepare…` and `finish…` calls run on one thread around a pass; `forward(images:worker:)`
/// and `backward(_:images:worker:)` run on many at once, each on its own images and its own
/// `worker` scratch, and write nothing else.
public protocol ImageLocalLayer: Layer {
    /// The whole-batch output buffer that `forward(images:worker:)` fills.
    var output: Tensor { get }
    /// The whole-batch input-gradient buffer that `backward(_:images:worker:)` fills, or nil for a
    /// layer that does not compute it (the first convolution, whose input is data).
    var inputGradient: Tensor? { get }
    /// Floats of activations, gradients and scratch this layer touches for one image: what the
    /// stage adds up to choose how many images to carry at once.
    var workingFloatsPerImage: Int { get }
    /// Remembers `input` and `mode` for the pass and makes per-thread scratch for `workers`
    /// threads, allocating only when the count grows, so a training step allocates nothing.
    func prepareForward(input: Tensor, workers: Int, mode: PassMode)
    /// Computes the output of `images` (indices into the batch) using `worker`'s scratch.
    func forward(images: Range<Int>, worker: Int)
    /// Clears the partial parameter gradients of `workers` partitions before a backward pass
    /// (making their scratch if the count grew since the forward pass: one thread's forward
    /// makes one, and its backward runs two partitions).
    func prepareBackward(workers: Int)
    /// Back-propagates `gradOutput` for `images`, filling their part of `inputGradient`; parameter
    /// gradients accumulate in `worker`'s partial sums.
    func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int)
    /// Adds the partitions' partial parameter gradients, in partition order, into the
    /// parameters' gradients.
    func finishBackward(workers: Int)
}

public extension ImageLocalLayer {
    func prepareBackward(workers: Int) {}
    func finishBackward(workers: Int) {}

    /// The whole batch, one contiguous range of images per engine thread: the layer alone, for
    /// tests and the reference activations (the model runs such layers in stages). Backward splits
    /// the batch into `GradientPartitions` instead, so its sums do not depend on the
    /// thread count either.
    func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor {
        let workers = max(1, min(EngineThreads.count, batch))
        prepareForward(input: input, workers: workers, mode: mode)
        parallelFor(workers) { w in forward(images: batch * w / workers..<batch * (w + 1) / workers, worker: w) }
        return output
    }

    func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        let workers = GradientPartitions.of(batch: batch)
        prepareBackward(workers: workers)
        parallelFor(workers) { w in backward(gradOutput, images: batch * w / workers..<batch * (w + 1) / workers, worker: w) }
        finishBackward(workers: workers)
        return inputGradient ?? gradOutput
    }
}

/// The parts of the batch a backward pass sums parameter gradients over, whatever the thread
/// count: the sums' rounding depends on how the batch is split, so a split that followed the
/// threads made a run's bytes depend on them, and `--jobs` could not give runs one thread each
/// without changing what `reproduce` produces. Two, the split the record was trained with (on two
/// threads); one thread computes both parts in turn, and threads beyond two have no backward share
/// (forward, products and the optimizers still use them). Here, beside the layers that keep a
/// partial sum per part, so that a layer alone (`backward(_:batch:)`) and the model's stages
/// split alike.
public enum GradientPartitions {
    public static let count = 2

    /// `count`, but never more than images.
    public static func of(batch: Int) -> Int { max(1, min(count, batch)) }
}
