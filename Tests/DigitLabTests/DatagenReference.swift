import DigitLab
import DigitLabEngine
import Foundation
import Testing

/// `../shared/reference/keras_datagen.safetensors` (or `$DIGITLAB_REFERENCE/...`): what Keras's
/// ImageDataGenerator computes for the standardization options, shifts and ZCA whitening, fitted on
/// the first 2,000 MNIST training images after `normalize(x, axis=1)`.
enum DatagenReference {
    static var path: String {
        let directory: String
        if let env = ProcessInfo.processInfo.environment["DIGITLAB_REFERENCE"], !env.isEmpty {
            directory = env
        } else {
            directory = URL(fileURLWithPath: TestPaths.root).deletingLastPathComponent()
                .appendingPathComponent("shared/reference").path
        }
        return directory + "/keras_datagen.safetensors"
    }

    static func load() throws -> [String: NamedTensor] {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("Keras reference \(path) is missing: put ../shared beside the checkout or set DIGITLAB_REFERENCE")
            throw DataError(path, "missing")
        }
        return try Safetensors.read(path: path).tensors
    }

    /// A tensor of the reference as floats, or a recorded failure.
    static func floats(_ tensors: [String: NamedTensor], _ name: String) throws -> [Float] {
        try #require(tensors[name], "the reference has no tensor \(name)").floats
    }

    /// MNIST, loaded once for every suite that needs it.
    static let mnist: Dataset? = try? Dataset.load(.mnist, directory: TestPaths.mnist)

    /// The images the reference was fitted on: the first `datagen/fit_count` training images.
    static func fitSet(_ tensors: [String: NamedTensor]) throws -> LabeledImages {
        let data = try #require(mnist, "MNIST not found at \(TestPaths.mnist)")
        let count = Int(try #require(tensors["datagen/fit_count"]).int32s[0])
        return data.train.prefix(count)
    }
}

/// The largest element difference between two arrays, and the largest magnitude of `expected`.
func largestDifference(_ actual: [Float], _ expected: [Float]) -> (difference: Float, scale: Float) {
    precondition(actual.count == expected.count, "sizes \(actual.count) and \(expected.count)")
    var d: Float = 0, s: Float = 0
    for (a, e) in zip(actual, expected) { d = max(d, abs(a - e)); s = max(s, abs(e)) }
    return (d, s)
}
