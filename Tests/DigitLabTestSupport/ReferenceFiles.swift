import DigitLab
import DigitLabEngine
import Foundation

/// One file of reference tensors: what another framework computed, for a test to compare with.
public struct ReferenceFile: Sendable {
    public let path: String
    public let tensors: [String: NamedTensor]
    /// How the file was made: the generator, its settings, and the versions of the stack that ran it.
    public let metadata: [String: String]

    public subscript(name: String) -> NamedTensor? { tensors[name] }

    /// A tensor's values as floats; throws, naming the file, when it has no such tensor.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw DataError(path, "has no tensor \(name)") }
        return t.floats
    }
}

/// The reference tensors committed under `Tests/Reference/`, by file name: `keras_dense3_l2`,
/// `keras_dense4` and `keras_datagen` (written by `scripts/reference/keras_model_reference.py` and
/// `keras_datagen_reference.py`, which say what each tensor is), and any other generator's files
/// beside them. Nothing outside the checkout is read.
public enum ReferenceFiles {
    /// The package's top directory.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static let directory = packageRoot.appendingPathComponent("Tests/Reference").path

    /// Reads `Tests/Reference/NAME.safetensors`; a missing file is an error saying how to make it.
    public static func load(_ name: String) throws -> ReferenceFile {
        let path = directory + "/" + name + ".safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(path, "missing: it is committed with the project; regenerate it with the scripts in scripts/reference/ (see its README.md)")
        }
        let (tensors, metadata) = try Safetensors.read(path: path)
        return ReferenceFile(path: path, tensors: tensors, metadata: metadata)
    }
}

/// A tensor of `shape` with values uniform in [-1, 1) from a generator seeded by `seed`.
public func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = Xoshiro256(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.uniform(-1, 1) }
    return t
}

/// How far `actual` is from `expected`: the largest element difference relative to the largest
/// expected magnitude (so a tensor of small values is not judged by its tiniest element).
public func relativeError(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count, "sizes \(actual.count) and \(expected.count)")
    var diff = 0.0, scale = 0.0
    for (a, e) in zip(actual, expected) {
        diff = max(diff, Double(abs(a - e)))
        scale = max(scale, Double(abs(e)))
    }
    return diff / max(scale, 1e-30)
}

/// The largest element difference between two arrays, and the largest magnitude of `expected`.
public func largestDifference(_ actual: [Float], _ expected: [Float]) -> (difference: Float, scale: Float) {
    precondition(actual.count == expected.count, "sizes \(actual.count) and \(expected.count)")
    var d: Float = 0, s: Float = 0
    for (a, e) in zip(actual, expected) { d = max(d, abs(a - e)); s = max(s, abs(e)) }
    return (d, s)
}

/// One training step of a convolution layer given `kernel` and `bias`: forward and backward with
/// its images split over two workers (images 0-1 and the rest), as a stage splits a batch, so
/// tests can set two of the layer's methods side by side.
public func convolutionStepOverTwoWorkers(_ layer: Conv2D, kernel: Tensor, bias: Tensor, input: Tensor, outputGradient: Tensor, batch: Int) {
    copyFloats(kernel.data, layer.kernel.value.data, count: kernel.count)
    copyFloats(bias.data, layer.bias.value.data, count: bias.count)
    layer.prepareForward(input: input, workers: 2, mode: .training)
    layer.forward(images: 0..<2, worker: 0)
    layer.forward(images: 2..<batch, worker: 1)
    layer.prepareBackward(workers: 2)
    layer.backward(outputGradient, images: 0..<2, worker: 0)
    layer.backward(outputGradient, images: 2..<batch, worker: 1)
    layer.finishBackward(workers: 2)
}
