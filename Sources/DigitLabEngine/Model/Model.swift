/// A network built from its plan (`LayerPlan`): its layers, with Keras's names, and the passes
/// that run them; a forward pass reads like the network: conv → relu → pool, three times,
/// flatten, dense → relu, ..., dense → softmax for the paper's model.
///
/// All activations and gradients are allocated here, once, for `capacity` samples, and each
/// thread's scratch on the first pass; a training step after the first allocates nothing.
public final class Model {
    /// Names, shapes, parameters and how each layer runs, worked out once.
    public let plan: LayerPlan
    public var architecture: Architecture { plan.architecture }
    /// Every engine layer up to the logits, in order, named as the plan names them: conv1, relu1,
    /// pool1, ..., flatten, dense1, ... A layer's own activation (`activation:` on a conv2d or
    /// dense) is a layer here with the same name, after it.
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
    /// The generator dropout layers draw from (seeded by `initialize(seed:)`, saved in checkpoints).
    public let random: RandomSource

    private var logits: Tensor
    /// The layers as the passes run them: the convolution blocks, each an `ImageLocalStage`
    /// carried through a few images at a time, consecutive ones together as one `StageSequence`;
    /// every whole-batch layer alone.
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

        public func forward(_ x: Tensor, batch: Int, mode: PassMode = .training) -> Tensor {
            switch self {
            case .stages(let sequence): sequence.forward(x, batch: batch, mode: mode)
            case .layer(let layer): layer.forward(x, batch: batch, mode: mode)
            }
        }

        public func backward(_ g: Tensor, batch: Int) -> Tensor {
            switch self {
            case .stages(let sequence): sequence.backward(g, batch: batch)
            case .layer(let layer): layer.backward(g, batch: batch)
            }
        }
    }

    /// Groups built layers into passes: a stage starts at each convolution (`startsStage`) and
    /// takes the image-local layers after it, and consecutive stages make one sequence. Blocks are
    /// separate stages, because the first two want one image at a time to stay in cache while the
    /// third's products want many.
    private static func passes(_ units: [(layer: BuiltLayer, startsStage: Bool)]) -> [Pass] {
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
        for (unit, startsStage) in units {
            if startsStage { endStage() }
            switch unit {
            case .imageLocal(let local): run.append(local)
            case .wholeBatch(let layer):
                endSequence()
                passes.append(.layer(layer))
            }
        }
        endSequence()
        return passes
    }

    /// Builds the network of `plan` with zero weights; call `initialize(seed:)` or load weights next.
    public init(plan: LayerPlan, capacity: Int) {
        self.plan = plan
        self.capacity = capacity
        random = RandomSource(Xoshiro256(seed: 0, stream: RandomStream.dropout))
        var layers: [any Layer] = [], units: [(layer: BuiltLayer, startsStage: Bool)] = []
        let random = self.random
        func context(_ l: LayerPlan.Layer) -> LayerContext {
            LayerContext(capacity: capacity, computesInputGradient: l.computesInputGradient, random: random,
                         convolution: plan.convolution)
        }
        func rectifier(_ name: String, _ shape: [Int]) -> Activation {
            Activation(name: name, function: .relu, inputShape: shape, capacity: capacity)
        }
        for step in plan.steps {
            switch step {
            case .layer(let i):
                let l = plan.layers[i]
                let built = l.configuration.makeLayer(name: l.name, input: l.inputShape, context: context(l))
                var startsStage = false
                if case .convolution = l.configuration.role { startsStage = true }
                layers.append(built.layer)
                units.append((built, startsStage))
                if let f = l.configuration.activation, f != .softmax {
                    let a = Activation(name: l.name, function: f, inputShape: l.outputShape, capacity: capacity)
                    layers.append(a)
                    units.append((.imageLocal(a), false))
                }
            case let .convolutionBlock(c, r, p, _):
                let (cl, pl) = (plan.layers[c], plan.layers[p])
                guard case .convolution(let convolution) = cl.configuration.role, case .maxPooling(let pooling) = pl.configuration.role else {
                    preconditionFailure("the plan's block holds a convolution and a max pooling")
                }
                let conv = convolution.make(name: cl.name, input: cl.inputShape, context: context(cl))
                let relu = rectifier(r.map { plan.layers[$0].name } ?? cl.name, cl.outputShape)
                let pool = pooling.make(name: pl.name, input: pl.inputShape, context: context(pl))
                layers += [conv, relu, pool] as [any Layer]
                units.append((.imageLocal(ConvolutionBlock(convolution: conv, pooling: RectifiedPooling(rectifier: relu, pooling: pool))), true))
            case let .rectifiedPooling(r, p):
                let (rl, pl) = (plan.layers[r], plan.layers[p])
                guard case .maxPooling(let pooling) = pl.configuration.role else { preconditionFailure("the plan pools with a max pooling") }
                let relu = rectifier(rl.name, rl.inputShape)
                let pool = pooling.make(name: pl.name, input: pl.inputShape, context: context(pl))
                layers += [relu, pool] as [any Layer]
                units.append((.imageLocal(RectifiedPooling(rectifier: relu, pooling: pool)), false))
            case .head:
                break
            }
        }
        self.layers = layers
        self.head = SoftmaxCrossEntropy(name: plan.headName, classes: plan.classes, capacity: capacity)
        self.input = Tensor(shape: [capacity] + plan.inputShape)
        self.logits = input
        self.passes = Model.passes(units)
        var l2: [String: Float] = [:]
        for l in plan.layers { if let f = l.l2 { l2[l.name] = f } }
        self.l2 = l2
    }

    /// Builds the network of `architecture`, with L2 factors by layer name, its convolutions on the
    /// kernels `convolution` asks for; the architecture must plan (a spec's always does:
    /// validation plans it first).
    public convenience init(architecture: Architecture, capacity: Int, l2: [String: Float] = [:],
                            convolution: ConvolutionChoice = .auto) {
        do {
            self.init(plan: try LayerPlan(architecture, l2: l2, convolution: convolution), capacity: capacity)
        } catch {
            preconditionFailure("an architecture that does not plan: \(error)")
        }
    }

    /// Every trainable parameter with its Keras path (`conv1/kernel`, `conv1/bias`, ...), in
    /// Keras's `model.weights` order.
    public var namedParameters: [(path: String, parameter: Parameter)] {
        layers.flatMap { layer in layer.parameters.map { ("\(layer.name)/\($0.name)", $0) } }
    }

    /// Every state tensor (batch normalization's moving statistics) with its Keras path
    /// (`bn1/moving_mean`), in layer order.
    public var namedState: [(path: String, state: StateVariable)] {
        layers.flatMap { layer in layer.state.map { ("\(layer.name)/\($0.name)", $0) } }
    }

    /// The parameter at a Keras path such as `dense2/bias`.
    public func parameter(_ path: String) -> Parameter? {
        namedParameters.first { $0.path == path }?.parameter
    }

    /// Keras's default initialisation, as the plan gives it: glorot-uniform kernels drawn in layer
    /// order from a generator seeded by `seed`, zero biases and betas, unit gammas, zero moving
    /// means and unit moving variances; and the dropout generator seeded by `seed`.
    public func initialize(seed: UInt64) {
        var rng = Xoshiro256(seed: seed, stream: RandomStream.weights)
        let values = namedParameters.map { ($0.path, $0.parameter.value) } + namedState.map { ($0.path, $0.state.value) }
        let shapes = plan.layers.flatMap { l in (l.parameters + l.state).map { ("\(l.name)/\($0.name)", $0) } }
        for (path, variable) in shapes {
            guard let value = values.first(where: { $0.0 == path })?.1 else { preconditionFailure("the model has no \(path)") }
            switch variable.initializer {
            case .glorotUniform: GlorotUniform.fill(value, using: &rng)
            case .zeros: value.zero()
            case .ones: value.data.update(repeating: 1, count: value.count)
            }
        }
        random.generator = Xoshiro256(seed: seed, stream: RandomStream.dropout)
    }

    /// Runs the first `batch` samples of `input` through the network; returns the class
    /// probabilities `[capacity, classes]`, of which the first `batch` rows are valid. A training
    /// pass (the default) drops, uses batch statistics and records what backward needs;
    /// evaluation and prediction run in `.inference`.
    @discardableResult
    public func forward(batch: Int, mode: PassMode = .training) -> Tensor {
        precondition(batch > 0 && batch <= capacity, "batch \(batch) outside 1...\(capacity)")
        return Denormals.flushingToZero {
            var x = input
            for pass in passes { x = pass.forward(x, batch: batch, mode: mode) }
            logits = x
            return head.forward(x, batch: batch)
        }
    }

    /// Output of every layer for a forward pass of `input`, layer by layer over the whole batch,
    /// by name, for the reference tests (inference mode, as Keras's `model(x)`, by default).
    public func activations(batch: Int, mode: PassMode = .inference) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        var x = input
        for layer in layers {
            x = layer.forward(x, batch: batch, mode: mode)
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

    /// Copies every parameter's and state tensor's value from `other`, which must have the same
    /// architecture.
    public func copyWeights(from other: Model) {
        precondition(other.architecture == architecture, "copying weights between different architectures")
        for ((_, mine), (_, theirs)) in zip(namedParameters, other.namedParameters) {
            mine.value.copy(from: theirs.value)
        }
        for ((_, mine), (_, theirs)) in zip(namedState, other.namedState) {
            mine.value.copy(from: theirs.value)
        }
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
    public static let dropout: UInt64 = 4
}
