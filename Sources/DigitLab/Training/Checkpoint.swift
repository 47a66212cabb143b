import DigitLabEngine
import Foundation

/// Saved models and resumable checkpoints as safetensors.
///
/// A saved model holds the weights and state under Keras's layer names and layouts
/// (`conv1/kernel` HWIO, `dense1/kernel` `[in, out]`, `bn1/moving_mean`), so that a Python user
/// can load it into the same Keras model, and its architecture (`SavedArchitecture`). A checkpoint
/// adds the optimizer's variables and step, the generators' states and the history so far.
public enum Checkpoint {
    private static var sortedJSON: JSONEncoder { SavedArchitecture.sortedJSON }

    /// Writes a model's weights and state, with `metadata` (the resolved spec, training figures)
    /// in the header.
    public static func saveModel(_ model: Model, metadata: [String: String], to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, p) in model.namedParameters { tensors[name] = NamedTensor(floats: p.value.array, shape: p.shape) }
        for (name, s) in model.namedState { tensors[name] = NamedTensor(floats: s.value.array, shape: s.shape) }
        var meta = metadata
        meta["format"] = "digitlab-model"
        meta["architecture"] = try SavedArchitecture.json(model.plan)
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    /// Reads a saved model: its architecture, weights and state, ready for inference with `capacity`.
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
        guard let json = metadata["architecture"] else {
            throw DataError(name, "not a DigitLab model: its metadata has no valid architecture")
        }
        let architecture = try SavedArchitecture.architecture(json: json, name: name)
        let damaged = DataError(name, "the model's architecture is beyond what a spec allows; not a DigitLab model, or a damaged one")
        guard let plan = try? LayerPlan(architecture) else { throw damaged }
        let activations = plan.floatsPerSample
        guard activations <= maximumActivationsPerSample else { throw damaged }
        for (path, shape) in plan.parameterShapes + plan.stateShapes {
            guard let t = tensors[path], t.dtype == .f32, t.shape == shape else {
                throw DataError(name, "weights \(path) are missing or not F32 of shape \(shape)")
            }
        }
        guard activations * max(capacity, 1) <= 1 << 28 else {
            throw DataError(name, "the model's layers would need \(activations) floats per image; not a DigitLab model, or a damaged one")
        }
        let model = Model(plan: plan, capacity: capacity)
        let variables = model.namedParameters.map { ($0.path, $0.parameter.value) } + model.namedState.map { ($0.path, $0.state.value) }
        for (path, value) in variables {
            let values = tensors[path]!.floats
            values.withUnsafeBufferPointer { value.data.update(from: $0.baseAddress!, count: values.count) }
        }
        return (model, metadata)
    }

    /// Writes a trainer's state after an epoch, atomically.
    public static func save(_ state: TrainerState, specYAML: String, to path: String) throws {
        var tensors: [String: NamedTensor] = [:]
        for (name, w) in state.weights { tensors["weights/" + name] = NamedTensor(floats: w, shape: [w.count]) }
        for (name, s) in state.state { tensors["state/" + name] = NamedTensor(floats: s, shape: [s.count]) }
        for (slot, values) in state.optimizerSlots {
            for (name, v) in values { tensors[slot + "/" + name] = NamedTensor(floats: v, shape: [v.count]) }
        }
        tensors["rng/shuffle"] = NamedTensor(words: state.shuffleRNG, shape: [4])
        tensors["rng/augmentation"] = NamedTensor(words: state.augmentationRNG, shape: [4])
        if let dropout = state.dropoutRNG { tensors["rng/dropout"] = NamedTensor(words: dropout, shape: [4]) }
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
        // Every other group of F32 tensors is an optimizer slot (`adam_m/conv1/kernel`, ...).
        var slots: [String: [String: [Float]]] = [:]
        for key in tensors.keys {
            guard let slash = key.firstIndex(of: "/"), tensors[key]?.dtype == .f32 else { continue }
            let slot = String(key[..<slash])
            if !["weights", "state", "rng", "epoch"].contains(slot), slots[slot] == nil { slots[slot] = group(slot + "/") }
        }
        var dropout: [UInt64]?
        if let d = tensors["rng/dropout"] {
            guard d.dtype == .u64, d.elementCount == 4 else { throw DataError(path, "not a DigitLab checkpoint, or a damaged one") }
            dropout = d.words
        }
        return (TrainerState(weights: group("weights/"), state: group("state/"), optimizerSlots: slots, step: step,
                             shuffleRNG: shuffle.words, augmentationRNG: augmentation.words, dropoutRNG: dropout,
                             history: history, pendingEpoch: pending, engineThreads: threads), spec)
    }
}
