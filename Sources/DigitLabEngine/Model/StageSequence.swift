/// Consecutive image-local stages (the convolution blocks) run in one parallel region a pass:
/// each thread takes its images (in forward, those it claims; in backward, its fixed partitions'
/// ranges) through every stage in turn, since a stage's images need only the same images of the
/// stage before.
///
/// Why: run stage by stage, the threads met at the end of every stage, six times a training step
/// for the paper's three blocks, and each meeting waits for the slower thread; one region a pass
/// waits twice. Each stage keeps its own chunk size (the first two blocks carry one or two images
/// at a time, the third many, within a forward claim's two). The numbers are those of the stages
/// run one by one: an image's output does not depend on who computes it, every backward partition
/// sees the same images in the same order, and parameter gradients are still added over
/// partitions in a fixed order at the end. Nor are they those of a thread count: backward always
/// runs `GradientPartitions` partitions, on as many threads as there are (one
/// thread runs them in turn).
public struct StageSequence {
    public let stages: [ImageLocalStage]

    public init(stages: [ImageLocalStage]) {
        precondition(!stages.isEmpty, "an empty stage sequence")
        self.stages = stages
    }

    /// The stages' layers' names, joined by arrows.
    public var name: String { stages.flatMap { $0.layers.map(\.name) }.joined(separator: " → ") }

    /// Runs the first `batch` images of `input` through every stage; returns the last one's output.
    /// The threads claim `imagesPerClaim` images at a time (`parallelClaim`) and take them
    /// through every stage, so a thread on a slower core takes fewer; `workers` caps the threads.
    /// An image's output is the same whichever thread computes it. An `.inference` pass skips
    /// what only a backward pass needs (the poolings' record of their maxima).
    public func forward(_ input: Tensor, batch: Int, workers: Int? = nil, mode: PassMode = .training) -> Tensor {
        let workers = workers ?? ImageLocalStage.defaultWorkers(batch: batch)
        var x = input
        for stage in stages { x = stage.prepareForward(x, workers: workers, mode: mode) }
        let claim = StageSequence.imagesPerClaim
        parallelClaim((batch + claim - 1) / claim, threads: workers) { u, w in
            let images = u * claim ..< min(batch, (u + 1) * claim)
            for stage in stages { stage.forward(images: images, worker: w) }
        }
        return x
    }

    /// Images a thread claims at once in a forward pass: small enough that the faster of two
    /// threads can take several claims more than the slower in a batch of 32, large enough for
    /// conv2's chunks of two.
    public static let imagesPerClaim = 2

    /// Back-propagates `gradOutput` through every stage, last first, filling every parameter's
    /// gradient; returns the gradient with respect to the first stage's input (or `gradOutput`
    /// when no stage computes one). `workers` is the number of partitions
    /// (`GradientPartitions.of(batch:)` by default), not of threads.
    public func backward(_ gradOutput: Tensor, batch: Int, workers: Int? = nil) -> Tensor {
        let workers = workers ?? GradientPartitions.of(batch: batch)
        // Stage i receives the gradient stage i + 1 passes back.
        let received = stages.indices.map { i in i + 1 < stages.count ? stages[i + 1].inputGradient : gradOutput }
        for (i, stage) in stages.enumerated().dropLast() {
            precondition(received[i] != nil, "\(stages[i + 1].layers[0].name) passes no gradient back to \(stage.layers.last!.name)")
        }
        for stage in stages { stage.prepareBackward(workers: workers) }
        parallelFor(workers) { w in
            for (stage, g) in zip(stages, received).reversed() { stage.backward(g!, worker: w, of: workers, batch: batch) }
        }
        for stage in stages { stage.finishBackward(workers: workers) }
        return stages[0].inputGradient ?? received[0]!
    }
}
