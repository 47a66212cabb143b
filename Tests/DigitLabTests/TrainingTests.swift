import DigitLab
import DigitLabTestSupport
import DigitLabEngine
import Foundation
import Testing

/// Training on real MNIST: it learns, it is deterministic, and a resumed run equals an
/// uninterrupted one.
@Suite("Training on MNIST", .serialized, .engineThreads)
struct TrainingTests {
    static let data: Dataset? = try? Dataset.load(.mnist, directory: TestPaths.mnist)

    static func config(limit: Int, epochs: Int, rotation: Double = 0) -> TrainingConfig {
        var c = TrainingConfig()
        c.limit = limit
        c.epochs = epochs
        c.validationSplit = 0.1
        c.l2Layers = ["conv1"]
        c.augmentation.rotationRange = rotation
        return c
    }

    @Test("one epoch on 6,000 images reaches over 75% on 2,000 test images (chance: 10%)")
    func learns() throws {
        let data = try #require(Self.data, "MNIST not found at \(TestPaths.mnist)")
        var config = Self.config(limit: 6000, epochs: 1)
        config.l2Layers = []
        let trainer = Trainer(config: config, train: data.train)
        let before = trainer.evaluate(data.test.prefix(2000))
        let record = try trainer.trainEpoch()
        let after = trainer.evaluate(data.test.prefix(2000))
        #expect(before.accuracy < 0.3, "an untrained model should be near chance, got \(before.accuracy)")
        #expect(after.accuracy > 0.75, "test accuracy after one epoch: \(after.accuracy)")
        #expect(record.trainLoss < before.loss)
        #expect(trainer.trainSet.count == 5400 && trainer.validationSet?.count == 600)
        #expect(record.validationAccuracy != nil)
    }

    @Test("the same config and seed give identical histories and weights; a resumed run equals an uninterrupted one")
    func determinismAndResume() throws {
        let data = try #require(Self.data, "MNIST not found at \(TestPaths.mnist)")
        let config = Self.config(limit: 1200, epochs: 2, rotation: 10)
        let a = Trainer(config: config, train: data.train)
        _ = try a.trainEpoch(); _ = try a.trainEpoch()
        let b = Trainer(config: config, train: data.train)
        _ = try b.trainEpoch()
        // Stop after one epoch, save, and continue in a new trainer from the file.
        let path = TestPaths.temporaryDirectory("resume") + "/checkpoint.safetensors"
        try Checkpoint.save(b.checkpointState(), specYAML: "test", to: path)
        let (state, spec) = try Checkpoint.load(path: path)
        #expect(spec == "test")
        let c = Trainer(config: config, train: data.train)
        try c.restore(state)
        #expect(c.completedEpochs == 1)
        _ = try c.trainEpoch()
        func figures(_ t: Trainer) -> [[Double?]] {
            t.history.epochs.map { [$0.trainLoss, $0.trainAccuracy, $0.validationLoss, $0.validationAccuracy] }
        }
        #expect(figures(a) == figures(c))
        for ((path, p), (_, q)) in zip(a.model.namedParameters, c.model.namedParameters) {
            #expect(p.value.array == q.value.array, "weights \(path) differ after resuming")
        }
        let d = Trainer(config: config, train: data.train)
        _ = try d.trainEpoch(); _ = try d.trainEpoch()
        #expect(figures(a) == figures(d))
    }

    @Test("a run whose loss becomes NaN stops with a diverged error")
    func divergence() throws {
        let data = try #require(Self.data, "MNIST not found at \(TestPaths.mnist)")
        var config = Self.config(limit: 640, epochs: 1)
        config.adam.learningRate = 1e30
        let trainer = Trainer(config: config, train: data.train)
        #expect(throws: TrainingError.self) { _ = try trainer.trainEpoch() }
    }
}
