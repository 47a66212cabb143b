/// RMSprop as Keras implements it (`keras.optimizers.RMSprop`), epsilon inside the square root:
///
///     v = rho · v + (1 - rho) · g²
///     a = rho · a + (1 - rho) · g              (centered only)
///     step = lr · g / sqrt(v - a² + eps)        (not centered: sqrt(v + eps))
///     m = momentum · m + step;  w -= m          (without momentum: w -= step)
///
/// Keras's defaults: learning rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, not centered.
public final class RMSprop: Optimizer {
    public struct Settings: Sendable, Equatable {
        public var learningRate: Float = 0.001
        public var rho: Float = 0.9
        public var momentum: Float = 0
        public var epsilon: Float = 1e-7
        public var centered = false
        public init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7, centered: Bool = false) {
            self.learningRate = learningRate; self.rho = rho; self.momentum = momentum; self.epsilon = epsilon
            self.centered = centered
        }
    }

    public let settings: Settings
    public private(set) var step = 0
    private let parameters: [Parameter]
    /// Per parameter: the running mean of squared gradients; the momentum (with momentum); the
    /// running mean of gradients (centered).
    public let velocities: [Tensor]
    public let momenta: [Tensor]
    public let averageGradients: [Tensor]

    public init(parameters: [Parameter], settings: Settings = Settings()) {
        self.settings = settings
        self.parameters = parameters
        velocities = parameters.map { Tensor(shape: $0.shape) }
        momenta = settings.momentum > 0 ? parameters.map { Tensor(shape: $0.shape) } : []
        averageGradients = settings.centered ? parameters.map { Tensor(shape: $0.shape) } : []
    }

    public var slots: [(name: String, tensors: [Tensor])] {
        [("rmsprop_velocity", velocities)] + (momenta.isEmpty ? [] : [("rmsprop_momentum", momenta)])
            + (averageGradients.isEmpty ? [] : [("rmsprop_average_gradient", averageGradients)])
    }

    public func update() {
        Denormals.flushingToZero {
            step += 1
            let s = settings
            parallelElements(of: parameters) { k, lo, hi in
                let w = parameters[k].value.data, g = parameters[k].gradient.data, v = velocities[k].data
                let m = momenta.isEmpty ? nil : momenta[k].data
                let a = averageGradients.isEmpty ? nil : averageGradients[k].data
                for i in lo..<hi {
                    v[i] = s.rho * v[i] + (1 - s.rho) * (g[i] * g[i])
                    var denominator = v[i] + s.epsilon
                    if let a {
                        a[i] = s.rho * a[i] + (1 - s.rho) * g[i]
                        denominator = v[i] - a[i] * a[i] + s.epsilon
                    }
                    let increment = s.learningRate * g[i] / denominator.squareRoot()
                    if let m {
                        m[i] = s.momentum * m[i] + increment
                        w[i] -= m[i]
                    } else {
                        w[i] -= increment
                    }
                }
            }
        }
    }

    public func restore(step: Int) { self.step = step }
}
