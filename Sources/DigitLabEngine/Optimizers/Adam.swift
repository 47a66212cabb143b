import Foundation

/// Adam as Keras implements it: moments `m`, `v` updated in place, the bias correction folded
/// into the step size, and epsilon added to `sqrt(v)` outside the correction:
///
///     alpha = lr · sqrt(1 - beta2^t) / (1 - beta1^t)
///     m += (g - m)(1 - beta1);  v += (g² - v)(1 - beta2)
///     w -= alpha · m / (sqrt(v) + epsilon)
public final class Adam: Optimizer {
    public struct Settings: Sendable, Equatable, Codable {
        public var learningRate: Float = 1e-3
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-7
        public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
            self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        }
    }

    public let settings: Settings
    /// Steps taken so far (Keras's `iterations`).
    public private(set) var step: Int = 0
    private let parameters: [Parameter]
    /// First and second moments, one pair per parameter, in the parameters' order.
    public let moments: [(m: Tensor, v: Tensor)]

    public init(parameters: [Parameter], settings: Settings = Settings()) {
        self.settings = settings
        self.parameters = parameters
        self.moments = parameters.map { (Tensor(shape: $0.shape), Tensor(shape: $0.shape)) }
    }

    /// Applies one update from the parameters' current gradients.
    public func update() {
        // Second moments are squares of gradients: the first values to go subnormal (Denormals).
        Denormals.flushingToZero { applyStep() }
    }

    private func applyStep() {
        step += 1
        let t = Double(step)
        let alpha = Float(Double(settings.learningRate) * (1 - pow(Double(settings.beta2), t)).squareRoot()
                          / (1 - pow(Double(settings.beta1), t)))
        let b1 = 1 - settings.beta1, b2 = 1 - settings.beta2, eps = settings.epsilon
        parallelElements(of: parameters) { k, lo, hi in
            let p = parameters[k], (m, v) = moments[k]
            let w = p.value.data, g = p.gradient.data, md = m.data, vd = v.data
            // Sixteen lanes at a time: the same operations in the same order as the scalar
            // tail, so the result does not depend on where a chunk starts.
            var i = lo
            let vb1 = Lanes(repeating: b1), vb2 = Lanes(repeating: b2)
            let va = Lanes(repeating: alpha), ve = Lanes(repeating: eps)
            while i + 16 <= hi {
                let gi = load(g + i)
                let mi = load(md + i) + (gi - load(md + i)) * vb1
                let vi = load(vd + i) + (gi * gi - load(vd + i)) * vb2
                store(mi, md + i)
                store(vi, vd + i)
                store(load(w + i) - va * mi / (vi.squareRoot() + ve), w + i)
                i += 16
            }
            while i < hi {
                let gi = g[i]
                md[i] += (gi - md[i]) * b1
                vd[i] += (gi * gi - vd[i]) * b2
                w[i] -= alpha * md[i] / (vd[i].squareRoot() + eps)
                i += 1
            }
        }
    }

    /// The moments as checkpoints store them: `adam_m/PATH`, `adam_v/PATH`.
    public var slots: [(name: String, tensors: [Tensor])] { [("adam_m", moments.map(\.m)), ("adam_v", moments.map(\.v))] }

    /// Restores the step count after loading saved moments (for resuming a run).
    public func restore(step: Int) { self.step = step }
}
