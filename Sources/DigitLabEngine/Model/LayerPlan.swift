/// The one walk over a network's layer list, done once: each layer's Keras name, shapes,
/// parameters and state, its L2 factor, and how the engine runs it (which layers run as one
/// fused step, and by which kernel). The model, checkpoints, saved models, spec validation and
/// `digitlab model` read it; nothing else walks the architecture.
public struct LayerPlan: Sendable, Equatable {
    /// One layer of the list, at its place in the network.
    public struct Layer: Sendable {
        /// Its position in the architecture's list (from 0), for errors that point at the spec.
        public let index: Int
        /// Keras's name: conv1, relu1, pool1, ..., flatten, dense1, relu_d1, ..., softmax.
        public let name: String
        public let configuration: any LayerConfiguration
        public let inputShape: [Int]
        public let outputShape: [Int]
        public let parameters: [VariableShape]
        public let state: [VariableShape]
        /// The L2 factor on its parameters, or nil.
        public let l2: Float?
        /// False for the first layer, whose input is data.
        public let computesInputGradient: Bool

        /// Trainable floats.
        public var parameterCount: Int { parameters.reduce(0) { $0 + $1.shape.reduce(1, *) } }
        /// Non-trainable floats.
        public var stateCount: Int { state.reduce(0) { $0 + $1.shape.reduce(1, *) } }
    }

    /// How a run of layers executes.
    public enum Step: Sendable {
        /// One layer on its own (with its own activation, if it has one, after it).
        case layer(Int)
        /// A convolution, its ReLU (the layer `rectifier`, or nil for the convolution's own
        /// activation) and a max pooling as one `ConvolutionBlock`; `fused` when the convolution is
        /// direct and all three are one step, else the convolution alone and the ReLU folded into
        /// the pooling.
        case convolutionBlock(convolution: Int, rectifier: Int?, pooling: Int, fused: Bool)
        /// A ReLU folded into the max pooling after it (`RectifiedPooling`).
        case rectifiedPooling(rectifier: Int, pooling: Int)
        /// The final softmax, computed with the loss (`SoftmaxCrossEntropy`).
        case head(Int)

        /// The layers the step runs.
        public var layers: [Int] {
            switch self {
            case .layer(let i), .head(let i): [i]
            case let .convolutionBlock(c, r, p, _): [c] + (r.map { [$0] } ?? []) + [p]
            case let .rectifiedPooling(r, p): [r, p]
            }
        }
    }

    /// A layer list that cannot be built: the layer's index (nil for the network as a whole) and
    /// what is wrong.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let index: Int?
        public let message: String
        public var description: String { index.map { "layer \($0 + 1): " + message } ?? message }
    }

    public let architecture: Architecture
    /// The kernels its convolutions are asked to run on (a spec's `model.convolution`).
    public let convolution: ConvolutionChoice
    public let layers: [Layer]
    public let steps: [Step]
    /// The softmax's name in the plan (its own layer's, or the last dense layer's).
    public let headName: String
    /// Classes: the softmax's width.
    public let classes: Int

    public var inputShape: [Int] { architecture.inputShape }

    /// Plans `architecture`; `l2` gives factors by layer name (the spec's `regularization.l2_layers`)
    /// to layers whose settings set none; `convolution` the kernels to ask for.
    public init(_ architecture: Architecture, l2 byName: [String: Float] = [:], convolution: ConvolutionChoice = .auto) throws(Problem) {
        self.architecture = architecture
        self.convolution = convolution
        let list = architecture.layers
        guard architecture.inputShape.count == 3, architecture.inputShape.allSatisfy({ $0 > 0 }) else {
            throw Problem(index: nil, message: "the input shape must be three positive numbers [height, width, channels]")
        }
        guard !list.isEmpty else { throw Problem(index: nil, message: "the network has no layers") }

        // Names, shapes, variables.
        var layers: [Layer] = [], shape = architecture.inputShape
        var counts: [String: Int] = [:], used: Set<String> = []
        var lastWeighted: String?
        for (i, c) in list.enumerated() {
            let output: [Int]
            do { output = try c.outputShape(for: shape) } catch { throw Problem(index: i, message: error.message) }
            var name: String
            switch c.naming {
            case .counted(let prefix):
                counts[prefix, default: 0] += 1
                name = prefix + String(counts[prefix]!)
                if prefix == "conv" || prefix == "dense" { lastWeighted = name }
            case .single(let n): name = n
            case .activation(let f):
                if f == .softmax {
                    name = "softmax"
                } else if let w = lastWeighted, w.hasPrefix("dense") {
                    name = f.rawValue + "_d" + w.dropFirst(5)
                } else {
                    name = f.rawValue + (lastWeighted.map { String($0.dropFirst(4)) } ?? "")
                }
            }
            if used.contains(name) {
                var k = 2
                while used.contains("\(name)_\(k)") { k += 1 }
                name = "\(name)_\(k)"
            }
            used.insert(name)
            let parameters = c.parameters(for: shape)
            var factor = c.l2.map(Float.init)
            if let named = byName[name] {
                guard factor == nil else { throw Problem(index: i, message: "\(name) has its own l2 setting and is also listed in regularization.l2_layers") }
                factor = named
            }
            layers.append(Layer(index: i, name: name, configuration: c, inputShape: shape, outputShape: output,
                                parameters: parameters, state: c.state(for: shape), l2: factor, computesInputGradient: i > 0))
            shape = output
        }
        let weighted = layers.filter { $0.parameters.contains { $0.name == "kernel" } }.map(\.name)
        for name in byName.keys.sorted() where !weighted.contains(name) {
            throw Problem(index: nil, message: "\"\(name)\" is not a layer with weights; expected some of \(weighted.joined(separator: ", "))")
        }

        // The softmax: the last layer's, nowhere else.
        let last = layers[layers.count - 1]
        func isSoftmaxLayer(_ l: Layer) -> Bool { if case .activation(.softmax) = l.configuration.naming { return true } else { return false } }
        for l in layers.dropLast() where isSoftmaxLayer(l) || l.configuration.activation == .softmax {
            throw Problem(index: l.index, message: "softmax only as the network's last activation (it feeds the loss)")
        }
        if isSoftmaxLayer(last) {
            guard last.inputShape.count == 1 else {
                throw Problem(index: last.index, message: "the softmax needs flat input (classes); its input is \(shapeText(last.inputShape)) images")
            }
            if layers.count > 1, layers[layers.count - 2].configuration.activation != nil {
                throw Problem(index: last.index, message: "the softmax follows a layer with its own activation; it takes the logits")
            }
            headName = last.name
        } else if last.configuration.activation == .softmax, last.outputShape.count == 1 {
            headName = last.name
        } else {
            throw Problem(index: last.index, message: "the last layer must be dense with activation: softmax, or activation: {activation: softmax}")
        }
        classes = last.outputShape[0]
        self.layers = layers

        // How they run: a convolution with a ReLU and a tiling max pooling after it is one block,
        // a ReLU before a tiling max pooling one rectified pooling, anything else alone.
        var steps: [Step] = [], i = 0
        func tilingPool(_ k: Int) -> Bool {
            guard k < layers.count, case .maxPooling(let p) = layers[k].configuration.role else { return false }
            return p.tiles
        }
        func rectifier(_ k: Int) -> Bool {
            guard k < layers.count, case .rectifier = layers[k].configuration.role else { return false }
            return true
        }
        while i < layers.count {
            let layer = layers[i]
            if i == layers.count - 1, isSoftmaxLayer(layer) {
                steps.append(.head(i))
                i += 1
                continue
            }
            if case .convolution(let conv) = layer.configuration.role {
                let fused = conv.method(input: layer.inputShape, computesInputGradient: layer.computesInputGradient,
                                        convolution: convolution) == .direct
                if conv.activation == .relu, tilingPool(i + 1) {
                    steps.append(.convolutionBlock(convolution: i, rectifier: nil, pooling: i + 1, fused: fused))
                    i += 2
                    continue
                }
                if conv.activation == nil, rectifier(i + 1), tilingPool(i + 2) {
                    steps.append(.convolutionBlock(convolution: i, rectifier: i + 1, pooling: i + 2, fused: fused))
                    i += 3
                    continue
                }
            }
            if rectifier(i), tilingPool(i + 1) {
                steps.append(.rectifiedPooling(rectifier: i, pooling: i + 1))
                i += 2
                continue
            }
            steps.append(.layer(i))
            i += 1
        }
        self.steps = steps
    }

    /// The plan of the paper's shorthand; it cannot fail for the shapes a spec allows, but a
    /// saved model's file may hold others.
    public init(_ paper: PaperArchitecture, l2: [String: Float] = [:]) throws(Problem) {
        try self.init(Architecture(paper), l2: l2)
    }

    /// The same network with the same L2 factors (whatever kernels it runs on).
    public static func == (a: LayerPlan, b: LayerPlan) -> Bool {
        a.architecture == b.architecture && a.layers.map(\.l2) == b.layers.map(\.l2)
    }

    /// The layer named `name`.
    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    /// Trainable floats in all.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    /// Non-trainable floats in all.
    public var stateCount: Int { layers.reduce(0) { $0 + $1.stateCount } }

    /// Every parameter's Keras path (`conv1/kernel`) and shape, in Keras's `model.weights` order.
    public var parameterShapes: [(path: String, shape: [Int])] {
        layers.flatMap { l in l.parameters.map { ("\(l.name)/\($0.name)", $0.shape) } }
    }

    /// Every state tensor's Keras path (`bn1/moving_mean`) and shape.
    public var stateShapes: [(path: String, shape: [Int])] {
        layers.flatMap { l in l.state.map { ("\(l.name)/\($0.name)", $0.shape) } }
    }

    /// Floats of activations and gradients one sample needs, about (each layer's input and output,
    /// and a convolution's patches): to refuse a damaged file's model before allocating it.
    public var floatsPerSample: Int {
        layers.reduce(inputShape.reduce(1, *)) { total, l in
            var patches = 0
            if case .convolution(let c) = l.configuration.role { patches = l.outputShape.reduce(1, *) / max(c.filters, 1) * c.kernelSize * c.kernelSize * l.inputShape[2] }
            return total + 2 * l.outputShape.reduce(1, *) + patches
        }
    }

    /// How layer `l` computes, in words (a convolution: on the kernels this plan asks for).
    private func kernel(of l: Layer) -> String? {
        if case .convolution(let conv) = l.configuration.role {
            return conv.kernel(for: l.inputShape, computesInputGradient: l.computesInputGradient, convolution: convolution)
        }
        return l.configuration.kernel(for: l.inputShape, computesInputGradient: l.computesInputGradient)
    }

    /// Whether the convolution `l`, pooled, computes its gradients over the nonzero output
    /// gradient only (`SparseOutputGradient.supports`; when a chunk's gradient is that sparse).
    private func sparseGradients(_ l: Layer) -> Bool {
        guard case .convolution(let conv) = l.configuration.role else { return false }
        return SparseOutputGradient.supports(ConvGeometry(height: l.inputShape[0], width: l.inputShape[1], channels: l.inputShape[2],
                                                          kernelHeight: conv.kernelSize, kernelWidth: conv.kernelSize, stride: conv.strides))
    }

    /// How step `step` runs, in words, for `digitlab model`.
    public func execution(of step: Step) -> String {
        switch step {
        case .layer(let i):
            let l = layers[i]
            let activation = l.configuration.activation.map { ", then \($0.rawValue)" } ?? ""
            return (kernel(of: l) ?? "alone") + activation
        case let .convolutionBlock(c, _, _, fused):
            let l = layers[c]
            if fused {
                return "fused: direct conv, ReLU and max pooling in one step"
                    + (kernel(of: l)?.contains("padded") == true ? ", zero-padded copy" : "")
                    + (sparseGradients(l) ? "; sparse backward" : "")
            }
            return (kernel(of: l) ?? "") + "; ReLU folded into the pooling"
        case .rectifiedPooling: return "ReLU folded into the max pooling"
        case .head: return "with the loss (softmax cross-entropy)"
        }
    }
}
