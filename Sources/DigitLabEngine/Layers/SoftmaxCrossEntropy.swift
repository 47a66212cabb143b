import Foundation

/// The network's head: Keras's `Activation("softmax")` followed by the sparse categorical
/// cross-entropy loss, averaged over the batch.
///
/// Keras computes this loss from the logits the softmax cached, not from the clipped
/// probabilities, so the loss is `logsumexp(z) - z[label]` and its gradient with respect to the
/// logits is `(softmax(z) - onehot(label)) / batch`; both are done here together.
public final class SoftmaxCrossEntropy {
    /// The layer's name in the plan: `softmax`, or the last dense layer's when the softmax is its activation.
    public let name: String
    public let classes: Int
    /// Class probabilities of the last forward pass, `[capacity, classes]`.
    public let probabilities: Tensor
    private let gradLogits: Tensor

    public init(name: String = "softmax", classes: Int, capacity: Int) {
        self.name = name
        self.classes = classes
        probabilities = Tensor(shape: [capacity, classes])
        gradLogits = Tensor(shape: [capacity, classes])
    }

    /// Softmax of each row of `logits`, stable against overflow.
    @discardableResult
    public func forward(_ logits: Tensor, batch: Int) -> Tensor {
        let k = classes
        for b in 0..<batch {
            let z = logits.data + b * k, p = probabilities.data + b * k
            var zmax = z[0]
            for j in 1..<k { zmax = max(zmax, z[j]) }
            var sum: Float = 0
            for j in 0..<k { p[j] = expf(z[j] - zmax); sum += p[j] }
            let inv = 1 / sum
            for j in 0..<k { p[j] *= inv }
        }
        return probabilities
    }

    /// Per-sample losses `-log softmax(z)[label]` for the last forward's logits, summed.
    public func lossSum(logits: Tensor, labels: UnsafePointer<Int32>, batch: Int) -> Double {
        let k = classes
        var total = 0.0
        for b in 0..<batch {
            let z = logits.data + b * k
            var zmax = z[0]
            for j in 1..<k { zmax = max(zmax, z[j]) }
            var sum: Double = 0
            for j in 0..<k { sum += exp(Double(z[j] - zmax)) }
            total += log(sum) - Double(z[Int(labels[b])] - zmax)
        }
        return total
    }

    /// Gradient of the batch-mean loss with respect to the logits: `(p - onehot) / batch`.
    public func backward(labels: UnsafePointer<Int32>, batch: Int) -> Tensor {
        let k = classes, scale = 1 / Float(batch)
        for b in 0..<batch {
            let p = probabilities.data + b * k, g = gradLogits.data + b * k
            for j in 0..<k { g[j] = p[j] * scale }
            g[Int(labels[b])] -= scale
        }
        return gradLogits
    }

    /// How many of the batch's argmax predictions equal their labels (ties go to the lower class,
    /// as `argmax` does).
    public func correctCount(labels: UnsafePointer<Int32>, batch: Int) -> Int {
        var correct = 0
        for b in 0..<batch where argmax(probabilities.data + b * classes, classes) == Int(labels[b]) {
            correct += 1
        }
        return correct
    }
}

/// Index of the first largest of `n` floats.
public func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
    var best = 0
    for j in 1..<n where x[j] > x[best] { best = j }
    return best
}
