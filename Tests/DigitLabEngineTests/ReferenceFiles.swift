import DigitLab
import DigitLabEngine
import Foundation
import Testing

/// The Keras reference tensors in `../shared/reference` (beside the checkout), or the directory
/// named by `DIGITLAB_REFERENCE`.
enum ReferenceFiles {
    /// The package's top directory.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["DIGITLAB_REFERENCE"], !env.isEmpty { return env }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference").path
    }

    static func load(_ name: String) throws -> [String: NamedTensor] {
        let path = directory + "/" + name + ".safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("Keras reference \(path) is missing: put ../shared beside the checkout or set DIGITLAB_REFERENCE")
            throw DataError(path, "missing")
        }
        return try Safetensors.read(path: path).tensors
    }
}

/// A tensor of `shape` with values uniform in [-1, 1) from a generator seeded by `seed`.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = Xoshiro256(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.uniform(-1, 1) }
    return t
}

/// How far `actual` is from `expected`: the largest element difference relative to the largest
/// expected magnitude (so a tensor of small values is not judged by its tiniest element).
func relativeError(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count, "sizes \(actual.count) and \(expected.count)")
    var diff = 0.0, scale = 0.0
    for (a, e) in zip(actual, expected) {
        diff = max(diff, Double(abs(a - e)))
        scale = max(scale, Double(abs(e)))
    }
    return diff / max(scale, 1e-30)
}
