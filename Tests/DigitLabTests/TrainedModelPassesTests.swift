import DigitLab
import DigitLabEngine
import Foundation
import Testing

/// The Keras reference tests check the engine at initial weights, where few pooling windows tie.
/// A trained model on real digits has the other regime: dead ReLUs, background patches whose conv
/// outputs tie across a pooling window. There the fused, chunked passes training runs (ReLU folded
/// into pooling, a few images at a time per thread) must give the gradients of the plain passes,
/// one layer at a time over the whole batch.
@Suite("Trained model: fused passes")
struct TrainedModelPassesTests {
    @Test("a trained case 7 model on 32 MNIST digits: the same loss and gradients either way")
    func fusedEqualsPlain() throws {
        // Several workers, as training uses (other suites set the same count).
        EngineThreads.count = ProcessInfo.processInfo.activeProcessorCount
        let data = try #require(try? Dataset.load(.mnist, directory: TestPaths.mnist), "MNIST not found at \(TestPaths.mnist)")
        let path = TestPaths.root + "/results/models/case7.safetensors"
        let fused = try Checkpoint.loadModel(path: path, capacity: 32).model
        let plain = try Checkpoint.loadModel(path: path, capacity: 32).model
        var rng = Xoshiro256(seed: 0)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: 32)
        defer { labels.deallocate() }
        let assembler = BatchAssembler(set: data.train, normalization: .kerasNormalize, capacity: 32)
        assembler.fill(indices: Array(0..<32)[...], input: fused.input, labels: labels, rng: &rng)
        plain.input.copy(from: fused.input)

        fused.forward(batch: 32)
        fused.backward(labels: labels, batch: 32)

        var x = plain.input
        for layer in plain.layers { x = layer.forward(x, batch: 32) }
        plain.head.forward(x, batch: 32)
        var g = plain.head.backward(labels: labels, batch: 32)
        for layer in plain.layers.reversed() { g = layer.backward(g, batch: 32) }

        let plainLoss = plain.head.lossSum(logits: x, labels: labels, batch: 32) / 32
        #expect(abs(fused.dataLoss(labels: labels, batch: 32) - plainLoss) < 1e-6 * plainLoss)
        for ((path, a), (_, b)) in zip(fused.namedParameters, plain.namedParameters) {
            let err = relativeError(a.gradient.array, b.gradient.array)
            #expect(err < 1e-5, "\(path): relative error \(err)")
        }
    }

    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (diff / max(norm, 1e-30)).squareRoot()
    }
}
