/// Stochastic gradient descent as Keras implements it (`keras.optimizers.SGD`), with momentum and
/// Nesterov's variant:
///
///     m = m · momentum - lr · g
///     w += m                          (nesterov: w += m · momentum - lr · g)
///
/// and without momentum `w -= lr · g`. Keras's defaults: learning rate 0.01, momentum 0, no
/// Nesterov.
public final class SGD: Optimizer {
    public struct Settings: Sendable, Equatable {
        public var learningRate: Float = 0.01
        public var momentum: Float = 0
        public var nesterov = false
        public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
            self.learningRate = learningRate; self.momentum = momentum; self.nesterov = nesterov
        }
    }

    public let settings: Settings
    public private(set) var step = 0
    private let parameters: [Parameter]
    /// The momentum of each parameter (none without momentum, as Keras keeps none).
    public let momenta: [Tensor]

    public init(parameters: [Parameter], settings: Settings = Settings()) {
        self.settings = settings
        self.parameters = parameters
        momenta = settings.momentum != 0 ? parameters.map { Tensor(shape: $0.shape) } : []
    }

    public var slots: [(name: String, tensors: [Tensor])] { momenta.isEmpty ? [] : [("sgd_momentum", momenta)] }

    public func update() {
        Denormals.flushingToZero {
            step += 1
            let lr = settings.learningRate, mu = settings.momentum, nesterov = settings.nesterov
            parallelElements(of: parameters) { k, lo, hi in
                let w = parameters[k].value.data, g = parameters[k].gradient.data
                guard let m = momenta.isEmpty ? nil : momenta[k].data else {
                    for i in lo..<hi { w[i] -= g[i] * lr }
                    return
                }
                for i in lo..<hi {
                    m[i] = m[i] * mu - g[i] * lr
                    w[i] += nesterov ? m[i] * mu - g[i] * lr : m[i]
                }
            }
        }
    }

    public func restore(step: Int) { self.step = step }
}
