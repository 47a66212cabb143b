import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// What the photograph tests share: MNIST, and a small model trained here (one epoch on 10,000
/// images: 92.04% on the test set, measured on two engine threads) so that the tests never depend
/// on a file that may be absent.
enum PhotoFixtures {
    struct Shared: Sendable {
        let data: Dataset
        let modelPath: String
    }

    static let dataset: Result<Dataset, DataError> = {
        do { return .success(try Dataset.load(.mnist, directory: TestPaths.mnist, verify: false)) } catch {
            return .failure(DataError(TestPaths.mnist, "cannot prepare the photograph tests: \(error)"))
        }
    }()

    static let shared: Result<Shared, DataError> = {
        do {
            let data = try dataset.get()
            let config = try baseConfig("training.limit=10000", "training.validation_split=0")
            // The count every engine test runs with (the tests using this fixture are under
            // `.engineThreads` too; this pins it however the fixture is first reached).
            TestEngine.pin()
            let trainer = Trainer(config: config, train: data.train)
            _ = try trainer.trainEpoch()
            let test = trainer.evaluate(data.test)
            let path = TestPaths.temporaryDirectory("photo-model") + "/model.safetensors"
            try Checkpoint.saveModel(trainer.model, metadata: [
                "normalization": config.normalization.rawValue, "dataset": "mnist",
                "test_accuracy": fixed(100 * test.accuracy, 3),
            ], to: path)
            return .success(Shared(data: data, modelPath: path))
        } catch {
            return .failure(DataError(TestPaths.mnist, "cannot prepare the photograph tests: \(error)"))
        }
    }()

    /// MNIST and the path of the model trained here; records an issue (so the test fails) when
    /// MNIST is missing.
    static func get() throws -> Shared {
        switch shared {
        case .success(let s): return s
        case .failure(let e):
            Issue.record("\(e)")
            throw e
        }
    }

    /// MNIST alone, for tests that need no model.
    static func data() throws -> Dataset {
        switch dataset {
        case .success(let d): return d
        case .failure(let e):
            Issue.record("\(e)")
            throw e
        }
    }

    /// The model the repository ships.
    static let shippedModel = TestPaths.root + "/" + DigitReader.defaultModelPath

    /// Image `index` of `set` as a grey picture, white digit on black.
    static func mnistImage(_ set: LabeledImages, _ index: Int) -> RasterImage {
        let start = index * set.pixelsPerImage
        return RasterImage(width: set.width, height: set.height, channels: 1,
                           pixels: Array(set.images[start..<start + set.pixelsPerImage]))
    }

    /// Image `index` of `set` enlarged `scale` times and drawn in `ink` on `paper` (grey levels),
    /// centred on a `width x height` page.
    static func page(_ set: LabeledImages, _ index: Int, scale: Int = 8, width: Int = 400, height: Int = 320,
                     paper: Double = 235, ink: Double = 30) -> RasterImage {
        let digit = Plane(width: 28, height: 28, values: mnistImage(set, index).pixels.map { Float($0) / 255 })
            .resizedBilinear(width: 28 * scale, height: 28 * scale)
        let ox = (width - 28 * scale) / 2, oy = (height - 28 * scale) / 2
        var pixels = [UInt8](repeating: UInt8(paper), count: width * height)
        for y in 0..<28 * scale {
            for x in 0..<28 * scale {
                let a = Double(digit[x, y])
                pixels[(y + oy) * width + x + ox] = UInt8((paper + (ink - paper) * a).rounded())
            }
        }
        return RasterImage(width: width, height: height, channels: 1, pixels: pixels)
    }

    /// Cosine similarity of two images' pixels: 1 for the same picture.
    static func similarity(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return aa == 0 || bb == 0 ? 0 : ab / (aa * bb).squareRoot()
    }

    /// The best similarity of two 28 x 28 images with one shifted by up to a pixel each way:
    /// centring by centre of mass rounds to whole pixels, so a pixel's shift is no difference.
    static func shiftedSimilarity(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var best = 0.0
        for dy in -1...1 {
            for dx in -1...1 {
                var shifted = [UInt8](repeating: 0, count: 784)
                for y in 0..<28 { for x in 0..<28 {
                    let sx = x - dx, sy = y - dy
                    if sx >= 0 && sy >= 0 && sx < 28 && sy < 28 { shifted[y * 28 + x] = b[sy * 28 + sx] }
                } }
                best = max(best, similarity(a, shifted))
            }
        }
        return best
    }
}
