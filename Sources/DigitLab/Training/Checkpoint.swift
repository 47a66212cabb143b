import DigitLabEngine
import Foundation

/// Saved models and resumable checkpoints as safetensors.
///
/// A saved model holds only the weights, under Keras's layer names and layouts (`conv1/kernel`
/// HWIO, `dense1/kernel` `[in, out]`), so that a Python user can load it into the same Keras model.
/// A checkpoint adds Adam's moments and step, the generators' states and the history so far.
public enum Checkpoint {
    /// Writes a model's weights, with `metadata` (the resolved spec, training figures) in the header.
    public static func saveModel(_ model: Model, metadata: [String: String], to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, p) in model.namedParameters { tensors[name] = NamedTensor(floats: p.value.array, shape: p.shape) }
        var meta = metadata
        meta["format"] = "digitlab-model"
        meta["architecture"] = String(data: try JSONEncoder().encode(model.architecture), encoding: .utf8)
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    /// Reads a saved model: its architecture and weights, ready for inference with `capacity`.
    public static func loadModel(path: String, capacity: Int) throws -> (model: Model, metadata: [String: String]) {
        let (tensors, metadata) = try Safetensors.read(path: path)
        guard let json = metadata["architecture"], let architecture = try? JSONDecoder().decode(Architecture.self, from: Data(json.utf8)),
              architecture.problem == nil else {
            throw DataError(path, "not a DigitLab model: its metadata has no valid architecture")
        }
        let model = Model(architecture: architecture, capacity: capacity)
        for (name, p) in model.namedParameters {
            guard let t = tensors[name], t.dtype == .f32, t.shape == p.shape else {
                throw DataError(path, "weights \(name) are missing or not F32 of shape \(p.shape)")
            }
            let values = t.floats
            values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: values.count) }
        }
        return (model, metadata)
    }

    /// Writes a trainer's state after an epoch, atomically.
    public static func save(_ state: TrainerState, specYAML: String, to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, w) in state.weights { tensors["weights/" + name] = NamedTensor(floats: w, shape: [w.count]) }
        for (name, m) in state.adamM { tensors["adam_m/" + name] = NamedTensor(floats: m, shape: [m.count]) }
        for (name, v) in state.adamV { tensors["adam_v/" + name] = NamedTensor(floats: v, shape: [v.count]) }
        tensors["rng/shuffle"] = NamedTensor(words: state.shuffleRNG, shape: [4])
        tensors["rng/augmentation"] = NamedTensor(words: state.augmentationRNG, shape: [4])
        let history = String(data: try JSONEncoder().encode(state.history), encoding: .utf8) ?? "{}"
        var metadata = ["format": "digitlab-checkpoint", "step": String(state.step), "history": history, "spec": specYAML]
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
        return (TrainerState(weights: group("weights/"), adamM: group("adam_m/"), adamV: group("adam_v/"), step: step,
                             shuffleRNG: shuffle.words, augmentationRNG: augmentation.words, history: history,
                             pendingEpoch: pending), spec)
    }
}
