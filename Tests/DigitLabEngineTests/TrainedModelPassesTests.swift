import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// The Keras reference tests check the engine at initial weights, where few pooling windows tie.
/// A trained model has the other regime: dead ReLUs, background patches whose conv outputs tie
/// across a pooling window. There the fused, chunked passes training runs (ReLU folded into
/// pooling, a few images at a time per worker) must give the gradients of the plain passes, one
/// layer at a time over the whole batch.
@Suite("Trained model: fused passes", .engineThreads)
struct TrainedModelPassesTests {
    @Test("the committed trained case 7 model on the first 32 MNIST training digits: the same loss and gradients either way")
    func fusedEqualsPlain() throws {
        let path = ReferenceFiles.packageRoot.appendingPathComponent("results/models/case7.safetensors").path
        let fused = try Checkpoint.loadModel(path: path, capacity: 32).model
        let plain = try Checkpoint.loadModel(path: path, capacity: 32).model
        // MNIST where the tool finds it: --data's absence means $DIGITLAB_DATA, else data/mnist.
        let mnist = try Dataset.load(.mnist, directory: Dataset.resolveDirectory(nil, files: .mnist), verify: false)
        let digits = mnist.train.prefix(32)
        let input = Normalization.kerasNormalize.apply(digits)
        let labels = digits.labels
        input.withUnsafeBufferPointer { fused.input.data.update(from: $0.baseAddress!, count: input.count) }
        plain.input.copy(from: fused.input)

        fused.forward(batch: 32)
        let fusedLoss = labels.withUnsafeBufferPointer { l in
            fused.backward(labels: l.baseAddress!, batch: 32)
            return fused.dataLoss(labels: l.baseAddress!, batch: 32)
        }

        var x = plain.input
        for layer in plain.layers { x = layer.forward(x, batch: 32, mode: .training) }
        plain.head.forward(x, batch: 32)
        let plainLoss = labels.withUnsafeBufferPointer { l in
            var g = plain.head.backward(labels: l.baseAddress!, batch: 32)
            for layer in plain.layers.reversed() { g = layer.backward(g, batch: 32) }
            return plain.head.lossSum(logits: x, labels: l.baseAddress!, batch: 32) / 32
        }

        #expect(abs(fusedLoss - plainLoss) < 1e-6 * plainLoss, "loss \(fusedLoss) vs \(plainLoss)")
        for ((path, a), (_, b)) in zip(fused.namedParameters, plain.namedParameters) {
            let err = relativeError(a.gradient.array, b.gradient.array)
            #expect(err < 1e-5, "\(path): relative error \(err)")
        }
    }
}
