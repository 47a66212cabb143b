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
