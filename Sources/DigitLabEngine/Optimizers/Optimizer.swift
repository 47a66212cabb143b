/// An optimizer: it updates parameters from their gradients, keeping variables of its own per
/// parameter (moments, velocities), which checkpoints save by slot name.
public protocol Optimizer: AnyObject {
    /// Steps taken so far (Keras's `iterations`).
    var step: Int { get }
    /// Applies one update from the parameters' current gradients.
    func update()
    /// The optimizer's variables: per slot (`adam_m`, ...), one tensor per parameter, in the
    /// parameters' order.
    var slots: [(name: String, tensors: [Tensor])] { get }
    /// Restores the step count after loading saved slots (for resuming a run).
    func restore(step: Int)
}

/// Which optimizer a run uses, with its settings: `optimizer.name` in a spec.
public enum OptimizerSettings: Sendable, Equatable {
    case adam(Adam.Settings)
    case sgd(SGD.Settings)
    case rmsprop(RMSprop.Settings)

    /// The optimizer for `parameters`.
    public func make(parameters: [Parameter]) -> any Optimizer {
        switch self {
        case .adam(let s): Adam(parameters: parameters, settings: s)
        case .sgd(let s): SGD(parameters: parameters, settings: s)
        case .rmsprop(let s): RMSprop(parameters: parameters, settings: s)
        }
    }

    /// The learning rate, whichever optimizer.
    public var learningRate: Float {
        get {
            switch self {
            case .adam(let s): s.learningRate
            case .sgd(let s): s.learningRate
            case .rmsprop(let s): s.learningRate
            }
        }
        set {
            switch self {
            case .adam(var s): s.learningRate = newValue; self = .adam(s)
            case .sgd(var s): s.learningRate = newValue; self = .sgd(s)
            case .rmsprop(var s): s.learningRate = newValue; self = .rmsprop(s)
            }
        }
    }
}

/// Runs `body(k, lo, hi)` over elements `lo ..< hi` of parameter `k`, for every parameter, in one
/// parallel region: each engine thread takes its share of every parameter of at least
/// `splitElements` (the first thread the first part, as `parallelChunks` splits), and whole
/// smaller parameters go to the threads in turn, each to the one given the fewest so far.
///
/// Why: a region per parameter left the biases and dense kernels (too small to split) on the
/// calling thread while the other waited. And for the paper's conv2 and conv3 (576 taps, 64
/// filters), a kernel's shares are the taps its convolution sums, transposes and re-lays out on
/// the same thread (`Conv2D`'s `forEachTapShare`; other shapes may split differently, which costs
/// only cache misses), so each thread updates rows it has just written, in its own core's cache (when the calling thread summed
/// every kernel gradient alone, the helper read its half of each from the other core, and the
/// calling thread waited about as long as it updated). An update is element-wise, so its bytes do
/// not depend on the split.
func parallelElements(of parameters: [Parameter], splitElements: Int = 16_384,
                      _ body: (_ parameter: Int, _ lo: Int, _ hi: Int) -> Void) {
    let total = parameters.reduce(0) { $0 + $1.value.count }
    let threads = max(1, min(EngineThreads.count, total / splitElements))
    guard threads > 1 else {
        for (k, p) in parameters.enumerated() { body(k, 0, p.value.count) }
        return
    }
    parallelFor(threads) { t in
        // Every thread makes the same assignment of the small parameters.
        var given = [Int](repeating: 0, count: threads)
        for (k, p) in parameters.enumerated() {
            let n = p.value.count
            if n >= splitElements {
                body(k, n * t / threads, n * (t + 1) / threads)
            } else {
                let least = given.indices.min { given[$0] < given[$1] }!
                given[least] += n
                if least == t { body(k, 0, n) }
            }
        }
    }
}
