import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// Tests/Reference/keras_datagen.safetensors: what Keras's ImageDataGenerator computes for the
/// standardization options, shifts, rotation and ZCA whitening, fitted on the first 2,000 MNIST
/// training images after `normalize(x, axis=1)` (scripts/reference/keras_datagen_reference.py).
enum DatagenReference {
    static func load() throws -> ReferenceFile { try ReferenceFiles.load("keras_datagen") }

    /// MNIST, loaded once for every suite that needs it.
    static let mnist: Dataset? = try? Dataset.load(.mnist, directory: TestPaths.mnist)

    /// The images the reference was fitted on: the first `datagen/fit_count` training images.
    static func fitSet(_ reference: ReferenceFile) throws -> LabeledImages {
        let data = try #require(mnist, "MNIST not found at \(TestPaths.mnist)")
        let count = Int(try #require(reference["datagen/fit_count"]).int32s[0])
        return data.train.prefix(count)
    }
}
