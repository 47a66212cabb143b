/// The paper's CNN: its layers are built from an `Architecture` with Keras's names, and a forward
/// pass reads like the network: conv → relu → pool, three times, flatten, dense → relu, ...,
/// dense → softmax.
///
/// All activations and gradients are allocated here, once, for `capacity` samples, and each
/// thread's scratch on the first pass; a training step after the first allocates nothing.
public final class Model {
    public let architecture: Architecture
    /// Every layer up to the logits, in order: conv1, relu1, pool1, ..., flatten, dense1, ...
    public let layers: [any Layer]
    /// Softmax and the cross-entropy loss, differentiated together.
    public let head: SoftmaxCrossEntropy
    /// The most samples one pass can take.
    public let capacity: Int
    /// The capacity to classify with when the batch size is free (test sets, photographs). The
    /// convolution stages carry one image at a time whatever the batch, so this mostly sets how
    /// often the threads meet: measured by `digitlab bench --inference-only` on a 2-core Zen 5,
    /// batches of 8 to 512 are equally fast (14-15.5k images/s, the spread of repeated runs).
    public static let inferenceCapacity = 8
    /// The input batch, `[capacity, height, width, channels]`: callers fill it, then call `forward`.
    public let input: Tensor
    /// L2 factors by layer name: the loss gains `λ·Σw²` over that layer's kernel and bias.
    public let l2: [String: Float]

    private var logits: Tensor
    /// The layers as the passes run them: the convolution blocks (conv → relu → pool), each an
    /// `ImageLocalStage` carried through a few images at a time, together as one `StageSequence`;
    /// every other layer alone.
    public let passes: [Pass]

    /// One step of a forward or backward pass: consecutive stages of image-local layers, or one layer.
    public enum Pass {
        case stages(StageSequence)
        case layer(any Layer)

        /// The layer's name, or the stages' layers' names joined by arrows.
        public var name: String {
            switch self {
            case .stages(let sequence): sequence.name
            case .layer(let layer): layer.name
            }
        }

        public func forward(_ x: Tensor, batch: Int, forBackward: Bool = true) -> Tensor {
            switch self {
            case .stages(let sequence): sequence.forward(x, batch: batch, forBackward: forBackward)
            case .layer(let layer): layer.forward(x, batch: batch)
            }
        }

        public func backward(_ g: Tensor, batch: Int) -> Tensor {
            switch self {
            case .stages(let sequence): sequence.backward(g, batch: batch)
            case .layer(let layer): layer.backward(g, batch: batch)
            }
        }
    }

    /// Groups `layers` into passes: a stage starts at each convolution and takes the image-local
    /// layers after it, and consecutive stages make one sequence. Blocks are separate stages,
    /// because the first two want one image at a time to stay in cache while the third's products
    /// want many.
    private static func passes(_ layers: [any Layer]) -> [Pass] {
        var passes: [Pass] = [], stages: [ImageLocalStage] = [], run: [any ImageLocalLayer] = []
        func endStage() {
            if !run.isEmpty { stages.append(ImageLocalStage(layers: run)) }
            run = []
        }
        func endSequence() {
            endStage()
            if !stages.isEmpty { passes.append(.stages(StageSequence(stages: stages))) }
            stages = []
        }
        for layer in layers {
            if layer is Conv2D { endStage() }
            if let local = layer as? any ImageLocalLayer {
                run.append(local)
            } else {
                endSequence()
                passes.append(.layer(layer))
            }
        }
        endSequence()
        return passes
    }

    /// Builds the network with zero weights; call `initialize(seed:)` or load weights next.
    public init(architecture: Architecture, capacity: Int, l2: [String: Float] = [:]) {
        precondition(architecture.problem == nil, architecture.problem ?? "")
        self.architecture = architecture
        self.capacity = capacity
        self.l2 = l2
        var layers: [any Layer] = []
        var shape = architecture.inputShape
        for (i, filters) in architecture.convFilters.enumerated() {
            let n = i + 1
            let conv = Conv2D(name: "conv\(n)", inputShape: shape, filters: filters,
                              kernelSize: architecture.kernelSize, capacity: capacity,
                              computesInputGradient: i > 0)
            let relu = ReLU(name: "relu\(n)", inputShape: conv.outputShape, capacity: capacity)
            let pool = MaxPool2D(name: "pool\(n)", inputShape: conv.outputShape,
                                 poolSize: architecture.poolSize, capacity: capacity)
            layers += [conv, relu, pool]
            shape = pool.outputShape
        }
        let flatten = Flatten(name: "flatten", inputShape: shape)
        layers.append(flatten)
        var features = flatten.outputShape[0]
        for (i, units) in architecture.denseUnits.enumerated() {
            let n = i + 1
            layers.append(Dense(name: "dense\(n)", inputFeatures: features, units: units, capacity: capacity))
            if n < architecture.denseUnits.count {
                layers.append(ReLU(name: "relu_d\(n)", inputShape: [units], capacity: capacity))
            }
            features = units
        }
        self.layers = layers
        self.head = SoftmaxCrossEntropy(classes: architecture.classes, capacity: capacity)
        self.input = Tensor(shape: [capacity] + architecture.inputShape)
        self.logits = input
        self.passes = Model.passes(layers)
        for name in l2.keys {
            precondition(layers.contains { $0.name == name && !$0.parameters.isEmpty },
                         "L2 names \(name), which is not a layer with weights")
        }
    }

    /// Every trainable parameter with its Keras path (`conv1/kernel`, `conv1/bias`, ...), in
    /// Keras's `model.weights` order.
    public var namedParameters: [(path: String, parameter: Parameter)] {
        layers.flatMap { layer in layer.parameters.map { ("\(layer.name)/\($0.name)", $0) } }
    }

    /// The parameter at a Keras path such as `dense2/bias`.
    public func parameter(_ path: String) -> Parameter? {
        namedParameters.first { $0.path == path }?.parameter
    }

    /// Keras's default initialisation: glorot-uniform kernels, zero biases, drawn in layer order
    /// from a generator seeded by `seed`.
    public func initialize(seed: UInt64) {
        var rng = Xoshiro256(seed: seed, stream: RandomStream.weights)
        for (_, p) in namedParameters {
            if p.name == "kernel" {
                GlorotUniform.fill(p.value, using: &rng)
            } else {
                p.value.zero()
            }
        }
    }

    /// Runs the first `batch` samples of `input` through the network; returns the class
    /// probabilities `[capacity, classes]`, of which the first `batch` rows are valid.
    /// `forBackward: false` (evaluation, prediction) skips what only a backward pass needs.
    @discardableResult
    public func forward(batch: Int, forBackward: Bool = true) -> Tensor {
        precondition(batch > 0 && batch <= capacity, "batch \(batch) outside 1...\(capacity)")
        return Denormals.flushingToZero {
            var x = input
            for pass in passes { x = pass.forward(x, batch: batch, forBackward: forBackward) }
            logits = x
            return head.forward(x, batch: batch)
        }
    }

    /// Output of every layer for the last forward pass, by name, for the reference tests.
    public func activations(batch: Int) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        var x = input
        for layer in layers {
            x = layer.forward(x, batch: batch)
            out[layer.name] = x.prefix(batch * layer.outputShape.reduce(1, *))
        }
        logits = x
        out[head.name] = head.forward(x, batch: batch).prefix(batch * head.classes)
        return out
    }

    /// Mean cross-entropy of the last forward pass over its `batch` samples.
    public func dataLoss(labels: UnsafePointer<Int32>, batch: Int) -> Double {
        head.lossSum(logits: logits, labels: labels, batch: batch) / Double(batch)
    }

    /// The L2 term `Σ λ·Σw²` over the regularized layers' kernels and biases.
    public func regularizationLoss() -> Double {
        var total = 0.0
        for layer in layers {
            guard let lambda = l2[layer.name] else { continue }
            for p in layer.parameters {
                var sum = 0.0
                for i in 0..<p.value.count { sum += Double(p.value[i]) * Double(p.value[i]) }
                total += Double(lambda) * sum
            }
        }
        return total
    }

    /// Back-propagates the loss of the last forward pass (mean cross-entropy plus the L2 terms),
    /// filling every parameter's gradient.
    public func backward(labels: UnsafePointer<Int32>, batch: Int) {
        Denormals.flushingToZero {
            var g = head.backward(labels: labels, batch: batch)
            for pass in passes.reversed() { g = pass.backward(g, batch: batch) }
            for layer in layers {
                guard let lambda = l2[layer.name] else { continue }
                for p in layer.parameters {
                    let w = p.value.data, dw = p.gradient.data
                    for i in 0..<p.value.count { dw[i] += 2 * lambda * w[i] }
                }
            }
        }
    }

    /// Copies every parameter's value from `other`, which must have the same architecture.
    public func copyWeights(from other: Model) {
        precondition(other.architecture == architecture, "copying weights between different architectures")
        for ((_, mine), (_, theirs)) in zip(namedParameters, other.namedParameters) {
            mine.value.copy(from: theirs.value)
        }
    }

    /// The names an architecture's layers get, in order, without building it.
    public static func layerNames(_ architecture: Architecture) -> [String] {
        var names: [String] = []
        for n in architecture.convFilters.indices.map({ $0 + 1 }) { names += ["conv\(n)", "relu\(n)", "pool\(n)"] }
        names.append("flatten")
        for n in architecture.denseUnits.indices.map({ $0 + 1 }) {
            names.append("dense\(n)")
            if n < architecture.denseUnits.count { names.append("relu_d\(n)") }
        }
        return names
    }

    /// FLOPs of one sample's forward pass through the convolutions and dense layers.
    public var forwardFLOPsPerSample: Int { layers.reduce(0) { $0 + $1.forwardFLOPs } }
}

/// The independent random streams of a run, so that changing one use (say, augmentation) does not
/// shift the numbers drawn for another (say, the weights).
public enum RandomStream {
    public static let weights: UInt64 = 1
    public static let shuffle: UInt64 = 2
    public static let augmentation: UInt64 = 3
}
