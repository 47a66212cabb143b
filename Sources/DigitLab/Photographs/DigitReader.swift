import DigitLabEngine
import Foundation

/// A saved model ready to read digits: loads the safetensors file, knows how its training data were
/// normalized, and classifies prepared 28 x 28 inputs.
public final class DigitReader {
    /// The model shipped with the repository (case 7, the paper's final choice), relative to the
    /// current directory.
    public static let defaultModelPath = "results/models/case7.safetensors"

    public let path: String
    public let model: Model
    public let metadata: [String: String]
    /// The normalization the model was trained with (metadata "normalization").
    public let normalization: Normalization

    /// Loads the model file at `modelPath`, for passes of up to `capacity` inputs.
    public convenience init(modelPath: String, capacity: Int = 1) throws {
        try self.init(modelBytes: try DigitReader.modelFile(modelPath), path: modelPath, capacity: capacity)
    }

    /// A reader of a saved model's bytes held in memory (as `modelFile` read them); `path` names
    /// the file in errors and is the reader's `path`. Several readers made from one read of a file
    /// hold the same weights, whatever happens to the file meanwhile.
    public init(modelBytes: [UInt8], path modelPath: String, capacity: Int = 1) throws {
        let (model, metadata) = try Checkpoint.loadModel(bytes: modelBytes, name: modelPath, capacity: capacity)
        guard model.plan.inputShape == [28, 28, 1], model.plan.classes == 10 else {
            throw DataError(modelPath, "the model takes \(model.plan.inputShape) inputs and has "
                            + "\(model.plan.classes) classes; reading digits needs [28, 28, 1] and 10")
        }
        let name = metadata["normalization"] ?? Normalization.kerasNormalize.rawValue
        guard let normalization = Normalization(rawValue: name) else {
            throw DataError(modelPath, "unknown normalization \"\(name)\" in the model's metadata")
        }
        self.path = modelPath
        self.model = model
        self.metadata = metadata
        self.normalization = normalization
    }

    /// The bytes of a model file, or an error that says what to pass instead.
    public static func modelFile(_ modelPath: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDirectory) else {
            throw DataError(modelPath, "no such model. Train one with `digitlab run experiments/case7.yaml` and pass "
                            + "--model results/runs/case7/seed-0/model.safetensors, or run from the repository's root, "
                            + "which ships \(DigitReader.defaultModelPath)")
        }
        guard !isDirectory.boolValue else { throw DataError(modelPath, "is a directory; --model takes a .safetensors file") }
        guard let data = FileManager.default.contents(atPath: modelPath) else { throw DataError(modelPath, "cannot be read") }
        return Array(data)
    }

    /// Class probabilities for each input (28 x 28 floats each), in batches of the model's capacity.
    public func probabilities(_ inputs: [[Float]]) -> [[Float]] {
        var out: [[Float]] = []
        let pixels = 28 * 28
        var start = 0
        while start < inputs.count {
            let n = min(model.capacity, inputs.count - start)
            for k in 0..<n {
                precondition(inputs[start + k].count == pixels, "an input has \(inputs[start + k].count) values, not 784")
                inputs[start + k].withUnsafeBufferPointer { (model.input.data + k * pixels).update(from: $0.baseAddress!, count: pixels) }
            }
            let p = model.forward(batch: n, mode: .inference)
            let classes = model.plan.classes
            for k in 0..<n { out.append(Array(UnsafeBufferPointer(start: p.data + k * classes, count: classes))) }
            start += n
        }
        return out
    }
}

/// One photograph's reading.
public struct DigitPrediction: Sendable, Encodable {
    public var file: String
    public var digit: Int
    public var probability: Double
    public var runnerUp: Int
    public var runnerUpProbability: Double
    public var pipeline: String
    /// "dark" or "light": the ink's polarity the pipeline decided on.
    public var ink: String
    /// For the mnist pipeline: whether thin strokes were thickened.
    public var thickened: Bool?
    public var probabilities: [Double]

    enum CodingKeys: String, CodingKey {
        case file, digit, probability, pipeline, ink, thickened, probabilities
        case runnerUp = "runner_up", runnerUpProbability = "runner_up_probability"
    }

    public init(file: String, probabilities p: [Float], pipeline: DigitPipeline, prepared: PreparedDigit) {
        let order = p.indices.sorted { p[$0] > p[$1] }
        func rounded(_ x: Float) -> Double { (Double(x) * 1e6).rounded() / 1e6 }
        self.file = file
        digit = order[0]
        probability = rounded(p[order[0]])
        runnerUp = order[1]
        runnerUpProbability = rounded(p[order[1]])
        self.pipeline = pipeline.rawValue
        ink = prepared.inkIsDark ? "dark" : "light"
        thickened = prepared.thickened
        probabilities = p.map(rounded)
    }

    /// One line for people: file, digit, probability and the runner-up.
    public var line: String {
        "\(file): \(digit) (\(fixed(100 * probability, 1))%), runner-up \(runnerUp) (\(fixed(100 * runnerUpProbability, 1))%)"
    }
}
