import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// ImageDataGenerator's featurewise and samplewise centring and std normalization against Keras.
@Suite("Standardization against Keras's ImageDataGenerator", .engineThreads)
struct StandardizationTests {
    @Test("our keras-normalize gives the reference's input images")
    func inputs() throws {
        let ref = try DatagenReference.load()
        let fit = try DatagenReference.fitSet(ref)
        let expected = try ref.floats("datagen/input")
        let ours = Array(Normalization.kerasNormalize.apply(fit.prefix(8)))
        let (d, s) = largestDifference(ours, expected)
        #expect(d <= 1e-6 * s, "normalized inputs differ by \(d)")
    }

    @Test("featurewise mean and std fitted on 2,000 images, and the standardized images, match Keras")
    func featurewise() throws {
        let ref = try DatagenReference.load()
        let fit = try DatagenReference.fitSet(ref)
        let options = Standardization(featurewiseCenter: true, featurewiseStdNormalization: true)
        let standardizer = try Standardizer.fit(options, on: fit, normalization: .kerasNormalize)
        let mean = try ref.floats("datagen/featurewise_mean")[0]
        let std = try ref.floats("datagen/featurewise_std")[0]
        #expect(abs(standardizer.mean - mean) <= 1e-6 * abs(mean), "mean \(standardizer.mean), Keras \(mean)")
        #expect(abs(standardizer.std - std) <= 1e-6 * abs(std), "std \(standardizer.std), Keras \(std)")
        let input = try ref.floats("datagen/input")
        let expected = try ref.floats("datagen/featurewise_output")
        let (d, s) = largestDifference(standardizer.standardize(input, count: 8), expected)
        #expect(d <= 1e-6 * s, "featurewise output differs by \(d) (largest value \(s))")
    }

    @Test("samplewise centring and std normalization match Keras")
    func samplewise() throws {
        let ref = try DatagenReference.load()
        let input = try ref.floats("datagen/input")
        let expected = try ref.floats("datagen/samplewise_output")
        let standardizer = Standardizer(options: Standardization(samplewiseCenter: true, samplewiseStdNormalization: true))
        let (d, s) = largestDifference(standardizer.standardize(input, count: 8), expected)
        #expect(d <= 1e-6 * s, "samplewise output differs by \(d) (largest value \(s))")
    }

    @Test("options combine as Keras's constructor leaves them")
    func effectiveOptions() {
        #expect(Standardization(featurewiseStdNormalization: true).effective.featurewiseCenter)
        #expect(Standardization(samplewiseStdNormalization: true).effective.samplewiseCenter)
        #expect(Standardization(zcaWhitening: true).effective.featurewiseCenter)
        #expect(!Standardization(featurewiseStdNormalization: true, zcaWhitening: true).effective.featurewiseStdNormalization)
        #expect(Standardization(featurewiseStdNormalization: true, zcaWhitening: true).problem != nil)
        #expect(Standardization().problem == nil && !Standardization().isEnabled)
        // featurewise_std_normalization alone still centres, as in Keras.
        let s = Standardizer(options: Standardization(featurewiseStdNormalization: true), mean: 0.5, std: 2)
        #expect(s.standardize([1.5], count: 1)[0] == (1.5 - 0.5) / (2 + Float(1e-6)))
    }

    @Test("samplewise steps come before featurewise ones, as in Keras's standardize")
    func order() {
        let s = Standardizer(options: Standardization(featurewiseCenter: true, featurewiseStdNormalization: true,
                                                      samplewiseCenter: true),
                             mean: 1, std: 4)
        // [1, 3]: samplewise centre -> [-1, 1]; featurewise centre -> [-2, 0]; / (4 + 1e-6).
        let out = s.standardize([1, 3], count: 1)
        #expect(out == [-2 / (4 + Float(1e-6)), 0])
    }

    @Test("batches from the assembler are standardized: the fit set comes out with mean 0 and std 1")
    func assembler() throws {
        let ref = try DatagenReference.load()
        let fit = try DatagenReference.fitSet(ref)
        let options = Standardization(featurewiseCenter: true, featurewiseStdNormalization: true)
        let standardizer = try Standardizer.fit(options, on: fit, normalization: .kerasNormalize)
        let batch = 100
        let assembler = BatchAssembler(set: fit, normalization: .kerasNormalize, standardizer: standardizer, capacity: batch)
        let input = Tensor(shape: [batch, 28, 28, 1])
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        defer { labels.deallocate() }
        var rng = Xoshiro256(seed: 0)
        var s1 = 0.0, s2 = 0.0
        for start in stride(from: 0, to: fit.count, by: batch) {
            assembler.fill(indices: Array(start..<start + batch)[...], input: input, labels: labels, rng: &rng)
            for v in input.array { s1 += Double(v); s2 += Double(v) * Double(v) }
        }
        let n = Double(fit.count * 784)
        #expect(abs(s1 / n) < 1e-5, "mean \(s1 / n)")
        #expect(abs((s2 / n - (s1 / n) * (s1 / n)).squareRoot() - 1) < 1e-5)
    }

    @Test("the trainer fits once on its training split and evaluates validation and test images the same way")
    func trainer() throws {
        let data = try #require(DatagenReference.mnist, "MNIST not found at \(TestPaths.mnist)")
        let config = try baseConfig("training.limit=1000", "training.validation_split=0.1",
                                    "preprocessing.featurewise_center=true", "preprocessing.featurewise_std_normalization=true")
        #expect(config.standardization == Standardization(featurewiseCenter: true, featurewiseStdNormalization: true))
        let trainer = Trainer(config: config, train: data.train)
        let standardizer = try #require(trainer.standardizer)
        let refit = try Standardizer.fit(config.standardization, on: data.train.prefix(900), normalization: .kerasNormalize)
        #expect(trainer.trainSet.count == 900)
        #expect(standardizer.mean == refit.mean && standardizer.std == refit.std)
        let test = data.test.prefix(200)
        let ours = trainer.evaluate(test)
        #expect(ours == Trainer.evaluate(model: trainer.model, set: test, normalization: .kerasNormalize, standardizer: standardizer))
        #expect(ours != Trainer.evaluate(model: trainer.model, set: test, normalization: .kerasNormalize))
        #expect(Trainer(config: try baseConfig(), train: data.train.prefix(10)).standardizer == nil)
    }
}
