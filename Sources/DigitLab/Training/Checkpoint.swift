import DigitLabEngine
import Foundation

/// Saved models and resumable checkpoints as safetensors.
///
/// A saved model holds only the weights, under Keras's layer names and layouts (`conv1/kernel`
/// HWIO, `dense1/kernel` `[in, out]`), so that a Python user can load it into the same Keras model.
/// A checkpoint adds Adam's moments and step, the generators' states and the history so far.
public enum Checkpoint {
    /// JSON with its keys sorted: Swift's encoder otherwise orders them differently from one
    /// process to the next, and the same run must give the same bytes.
    private static var sortedJSON: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// Writes a model's weights, with `metadata` (the resolved spec, training figures) in the header.
    public static func saveModel(_ model: Model, metadata: [String: String], to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, p) in model.namedParameters { tensors[name] = NamedTensor(floats: p.value.array, shape: p.shape) }
        var meta = metadata
        meta["format"] = "digitlab-model"
        meta["architecture"] = String(data: try sortedJSON.encode(model.architecture), encoding: .utf8)
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    /// Reads a saved model: its architecture and weights, ready for inference with `capacity`.
    public static func loadModel(path: String, capacity: Int) throws -> (model: Model, metadata: [String: String]) {
        let (tensors, metadata) = try Safetensors.read(path: path)
        return try loadModel(tensors: tensors, metadata: metadata, name: path, capacity: capacity)
    }

    /// A saved model from safetensors bytes held in memory; `name` stands for the file in errors.
    public static func loadModel(bytes: [UInt8], name: String, capacity: Int) throws -> (model: Model, metadata: [String: String]) {
        let (tensors, metadata) = try Safetensors.decode(bytes, name: name)
        return try loadModel(tensors: tensors, metadata: metadata, name: name, capacity: capacity)
    }

    /// The most floats a model's activations may take for one sample (4 MB); the paper's model
    /// needs about 0.1 M. Keeps a small damaged or hostile file from allocating gigabytes.
    public static let maximumActivationsPerSample = 1 << 20

    /// Builds a model from a file's tensors and metadata, checking the architecture is one a spec
    /// could describe and every weight is in the file with its shape before allocating anything.
    static func loadModel(tensors: [String: NamedTensor], metadata: [String: String], name: String,
                          capacity: Int) throws -> (model: Model, metadata: [String: String]) {
        guard let json = metadata["architecture"], let architecture = try? JSONDecoder().decode(Architecture.self, from: Data(json.utf8)),
              architecture.problem == nil else {
            throw DataError(name, "not a DigitLab model: its metadata has no valid architecture")
        }
        let (shapes, activations) = try parameterShapes(architecture, name: name)
        for (path, shape) in shapes {
            guard let t = tensors[path], t.dtype == .f32, t.shape == shape else {
                throw DataError(name, "weights \(path) are missing or not F32 of shape \(shape)")
            }
        }
        guard activations * max(capacity, 1) <= 1 << 28 else {
            throw DataError(name, "the model's layers would need \(activations) floats per image; not a DigitLab model, or a damaged one")
        }
        let model = Model(architecture: architecture, capacity: capacity)
        for (path, p) in model.namedParameters {
            guard let t = tensors[path], t.dtype == .f32, t.shape == p.shape else {
                throw DataError(name, "weights \(path) are missing or not F32 of shape \(p.shape)")
            }
            let values = t.floats
            values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: values.count) }
        }
        return (model, metadata)
    }

    /// Every weight's Keras path and shape for `architecture`, and the floats of activations one
    /// sample needs, worked out without building the model; throws when the architecture is beyond
    /// what a spec allows.
    static func parameterShapes(_ a: Architecture, name: String) throws -> (shapes: [(String, [Int])], activations: Int) {
        let damaged = DataError(name, "the model's architecture is beyond what a spec allows; not a DigitLab model, or a damaged one")
        guard a.inputShape.count == 3, a.inputShape.allSatisfy({ (1...1024).contains($0) }), a.inputShape[2] <= 4,
              (1...6).contains(a.convFilters.count) || a.convFilters.isEmpty, a.convFilters.allSatisfy({ (1...1024).contains($0) }),
              (1...9).contains(a.kernelSize), (1...4).contains(a.poolSize),
              (1...8).contains(a.denseUnits.count), a.denseUnits.allSatisfy({ (1...4096).contains($0) }) else { throw damaged }
        var shapes: [(String, [Int])] = []
        var (h, w, c) = (a.inputShape[0], a.inputShape[1], a.inputShape[2])
        var activations = h * w * c
        for (i, filters) in a.convFilters.enumerated() {
            shapes += [("conv\(i + 1)/kernel", [a.kernelSize, a.kernelSize, c, filters]), ("conv\(i + 1)/bias", [filters])]
            let (oh, ow) = (h - a.kernelSize + 1, w - a.kernelSize + 1)
            // The convolution's output, its im2col columns, the ReLU's output and the pooled output.
            activations += 2 * oh * ow * filters + oh * ow * a.kernelSize * a.kernelSize * c
            (h, w, c) = (oh / a.poolSize, ow / a.poolSize, filters)
            activations += h * w * c
            guard activations <= maximumActivationsPerSample else { throw damaged }
        }
        var features = h * w * c
        for (i, units) in a.denseUnits.enumerated() {
            shapes += [("dense\(i + 1)/kernel", [features, units]), ("dense\(i + 1)/bias", [units])]
            activations += 2 * units
            features = units
        }
        guard activations <= maximumActivationsPerSample else { throw damaged }
        return (shapes, activations)
    }

    /// Writes a trainer's state after an epoch, atomically.
    public static func save(_ state: TrainerState, specYAML: String, to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, w) in state.weights { tensors["weights/" + name] = NamedTensor(floats: w, shape: [w.count]) }
        for (name, m) in state.adamM { tensors["adam_m/" + name] = NamedTensor(floats: m, shape: [m.count]) }
        for (name, v) in state.adamV { tensors["adam_v/" + name] = NamedTensor(floats: v, shape: [v.count]) }
        tensors["rng/shuffle"] = NamedTensor(words: state.shuffleRNG, shape: [4])
        tensors["rng/augmentation"] = NamedTensor(words: state.augmentationRNG, shape: [4])
        let history = String(data: try sortedJSON.encode(state.history), encoding: .utf8) ?? "{}"
        var metadata = ["format": "digitlab-checkpoint", "step": String(state.step), "history": history, "spec": specYAML]
        if let threads = state.engineThreads { metadata["threads"] = String(threads) }
        if let pending = state.pendingEpoch {
            tensors["epoch/order"] = NamedTensor(words: pending.order.map { UInt64($0) }, shape: [pending.order.count])
            // Doubles as their shortest round-tripping decimal text: the resumed sums are exact.
            metadata["epoch"] = [String(pending.nextBatch), "\(pending.lossSum)", String(pending.correct),
                                 String(pending.seen), "\(pending.elapsed)"].joined(separator: " ")
        }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// Reads a checkpoint; returns its state and the resolved spec it was written for.
    public static func load(path: String) throws -> (state: TrainerState, specYAML: String) {
        let (tensors, metadata) = try Safetensors.read(path: path)
        return try load(tensors: tensors, metadata: metadata, name: path)
    }

    /// A checkpoint from safetensors bytes held in memory; `name` stands for the file in errors.
    public static func load(bytes: [UInt8], name: String) throws -> (state: TrainerState, specYAML: String) {
        let (tensors, metadata) = try Safetensors.decode(bytes, name: name)
        return try load(tensors: tensors, metadata: metadata, name: name)
    }

    static func load(tensors: [String: NamedTensor], metadata: [String: String], name path: String) throws
        -> (state: TrainerState, specYAML: String) {
        guard metadata["format"] == "digitlab-checkpoint", let step = metadata["step"].flatMap(Int.init),
              let historyJSON = metadata["history"], let spec = metadata["spec"],
              let history = try? JSONDecoder().decode(History.self, from: Data(historyJSON.utf8)),
              let shuffle = tensors["rng/shuffle"], shuffle.dtype == .u64, shuffle.elementCount == 4,
              let augmentation = tensors["rng/augmentation"], augmentation.dtype == .u64, augmentation.elementCount == 4 else {
            throw DataError(path, "not a DigitLab checkpoint, or a damaged one")
        }
        func group(_ prefix: String) -> [String: [Float]] {
            var out: [String: [Float]] = [:]
            for (k, t) in tensors where k.hasPrefix(prefix) && t.dtype == .f32 { out[String(k.dropFirst(prefix.count))] = t.floats }
            return out
        }
        var pending: EpochInProgress?
        if let text = metadata["epoch"] {
            let f = text.split(separator: " ").map(String.init)
            guard f.count == 5, let next = Int(f[0]), let loss = Double(f[1]), let correct = Int(f[2]), let seen = Int(f[3]),
                  let elapsed = Double(f[4]), let order = tensors["epoch/order"], order.dtype == .u64 else {
                throw DataError(path, "the interrupted epoch's record is damaged")
            }
            pending = EpochInProgress(order: order.words.map { Int(clamping: $0) }, nextBatch: next, lossSum: loss,
                                      correct: correct, seen: seen, elapsed: elapsed)
        }
        var threads: Int?
        if let text = metadata["threads"] {
            guard let count = Int(text), count >= 1 else { throw DataError(path, "the recorded engine thread count \"\(text)\" is damaged") }
            threads = count
        }
        return (TrainerState(weights: group("weights/"), adamM: group("adam_m/"), adamV: group("adam_v/"), step: step,
                             shuffleRNG: shuffle.words, augmentationRNG: augmentation.words, history: history,
                             pendingEpoch: pending, engineThreads: threads), spec)
    }
}
