import DigitLabEngine
import Foundation

/// Why training stopped early.
public enum TrainingError: Error, CustomStringConvertible {
    case diverged(epoch: Int, batch: Int, loss: Double)
    /// A stop was requested (`StopRequest`); the trainer kept its place in the epoch.
    case interrupted(epoch: Int, batch: Int)

    public var description: String {
        switch self {
        case let .diverged(epoch, batch, loss):
            return "training diverged: the loss became \(fixed(loss, 4)) at epoch \(epoch), batch \(batch); "
                + "try a smaller learning rate"
        case let .interrupted(epoch, batch):
            return "interrupted in epoch \(epoch) after \(batch) batches"
        }
    }
}

/// Progress within an epoch, for a live progress bar.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var loss: Double
    public var accuracy: Double
    public var elapsed: Double
}

/// Loss and accuracy of a model on a labelled set.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double
    public var count: Int
}

/// The training loop with Keras's semantics: shuffle every epoch from a seeded generator, batches
/// of `batchSize`, the spec's optimizer, and training figures averaged over the epoch as Keras's `History` reports
/// them; validation on the held-out tail after each epoch.
public final class Trainer {
    public let config: TrainingConfig
    public let model: Model
    public let optimizer: any Optimizer
    public let trainSet: LabeledImages
    public let validationSet: LabeledImages?
    /// Keras's `standardize`, fitted once on `trainSet` (after normalization), applied to training,
    /// validation and test images alike; nil when the config standardizes nothing.
    public let standardizer: Standardizer?
    public private(set) var history = History()
    /// The epoch under way when training was interrupted, if it was.
    public private(set) var pendingEpoch: EpochInProgress?
    /// Shuffling and augmentation draw from separate streams, saved in checkpoints.
    public private(set) var shuffleRNG: Xoshiro256
    public private(set) var augmentationRNG: Xoshiro256

    private let assembler: BatchAssembler
    private let labels: UnsafeMutablePointer<Int32>

    /// Splits `train` into training and validation parts and builds a freshly initialised model.
    public init(config: TrainingConfig, train: LabeledImages) {
        self.config = config
        var source = train
        if let limit = config.limit { source = source.prefix(limit) }
        // Keras: split_at = ceil(n · (1 - validation_split)); the tail is validation.
        let splitAt = Int((Double(source.count) * (1 - config.validationSplit)).rounded(.up))
        if config.validationSplit > 0 && splitAt < source.count {
            trainSet = source.slice(0..<splitAt)
            validationSet = source.slice(splitAt..<source.count)
        } else {
            trainSet = source
            validationSet = nil
        }
        if config.standardization.isEnabled {
            do {
                standardizer = try Standardizer.fit(config.standardization, on: trainSet, normalization: config.normalization)
            } catch {
                fatalError("cannot fit the standardization on the training images: \(error)")
            }
        } else {
            standardizer = nil
        }
        model = Model(plan: config.plan, capacity: config.batchSize)
        model.initialize(seed: config.seed)
        optimizer = config.optimizer.make(parameters: model.namedParameters.map(\.parameter))
        shuffleRNG = Xoshiro256(seed: config.seed, stream: RandomStream.shuffle)
        augmentationRNG = Xoshiro256(seed: config.seed, stream: RandomStream.augmentation)
        assembler = BatchAssembler(set: trainSet, normalization: config.normalization,
                                   augmentation: config.augmentation, standardizer: standardizer, capacity: config.batchSize)
        labels = .allocate(capacity: config.batchSize)
        labels.initialize(repeating: 0, count: config.batchSize)
    }

    deinit { labels.deallocate() }

    /// Epochs completed so far.
    public var completedEpochs: Int { history.epochs.count }

    /// Trains one epoch, or the rest of one stopped part-way, and evaluates on the validation set;
    /// returns and records the epoch's figures. Between batches it honours `StopRequest`: it then
    /// keeps its place in `pendingEpoch` and throws `TrainingError.interrupted`.
    public func trainEpoch(progress: ((BatchProgress) -> Void)? = nil) throws -> EpochRecord {
        let epoch = completedEpochs + 1
        var state = pendingEpoch ?? {
            var order = Array(0..<trainSet.count)
            shuffleRNG.shuffle(&order)
            return EpochInProgress(order: order)
        }()
        pendingEpoch = nil
        let start = Date().addingTimeInterval(-state.elapsed)
        let batches = EpochBatches(count: state.order.count, batchSize: config.batchSize)
        for (b, range) in batches.enumerated() where b >= state.nextBatch {
            if StopRequest.isRequested {
                state.nextBatch = b
                state.elapsed = Date().timeIntervalSince(start)
                pendingEpoch = state
                throw TrainingError.interrupted(epoch: epoch, batch: b)
            }
            let n = range.count
            assembler.fill(indices: state.order[range], input: model.input, labels: labels, rng: &augmentationRNG)
            model.forward(batch: n)
            let loss = model.dataLoss(labels: labels, batch: n) + model.regularizationLoss()
            guard loss.isFinite else { throw TrainingError.diverged(epoch: epoch, batch: b + 1, loss: loss) }
            state.correct += model.head.correctCount(labels: labels, batch: n)
            state.lossSum += loss * Double(n)
            state.seen += n
            model.backward(labels: labels, batch: n)
            optimizer.update()
            if let progress, b % 25 == 0 || b + 1 == batches.batchCount {
                progress(BatchProgress(epoch: epoch, batch: b + 1, batches: batches.batchCount,
                                       loss: state.lossSum / Double(state.seen),
                                       accuracy: Double(state.correct) / Double(state.seen),
                                       elapsed: Date().timeIntervalSince(start)))
            }
        }
        let (lossSum, correct, seen) = (state.lossSum, state.correct, state.seen)
        let validation = validationSet.map { evaluate($0) }
        let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(seen),
                                 trainAccuracy: Double(correct) / Double(seen),
                                 validationLoss: validation?.loss, validationAccuracy: validation?.accuracy,
                                 seconds: Date().timeIntervalSince(start))
        history.epochs.append(record)
        return record
    }

    /// Mean loss (cross-entropy plus the L2 terms, as Keras's `evaluate` reports it) and accuracy
    /// on `set`, preprocessed as the training data (normalized, then standardized with the
    /// statistics fitted on the training split) but never augmented.
    public func evaluate(_ set: LabeledImages) -> Evaluation {
        Trainer.evaluate(model: model, set: set, normalization: config.normalization, standardizer: standardizer)
    }

    /// Evaluates any model on a set, in batches of the model's capacity.
    public static func evaluate(model: Model, set: LabeledImages, normalization: Normalization,
                                standardizer: Standardizer? = nil,
                                predictions: UnsafeMutablePointer<Int32>? = nil) -> Evaluation {
        let assembler = BatchAssembler(set: set, normalization: normalization, standardizer: standardizer,
                                       capacity: model.capacity)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: model.capacity)
        defer { labels.deallocate() }
        var rng = Xoshiro256(seed: 0)
        var lossSum = 0.0, correct = 0
        let order = Array(0..<set.count)
        for range in EpochBatches(count: set.count, batchSize: model.capacity) {
            let n = range.count
            assembler.fill(indices: order[range], input: model.input, labels: labels, rng: &rng)
            let probabilities = model.forward(batch: n, mode: .inference)
            lossSum += model.dataLoss(labels: labels, batch: n) * Double(n)
            correct += model.head.correctCount(labels: labels, batch: n)
            if let predictions {
                for k in 0..<n { predictions[range.lowerBound + k] = Int32(argmax(probabilities.data + k * model.head.classes, model.head.classes)) }
            }
        }
        let count = max(set.count, 1)
        return Evaluation(loss: lossSum / Double(count) + model.regularizationLoss(),
                          accuracy: Double(correct) / Double(count), count: set.count)
    }

    /// Restores the state saved by `checkpointState()`: weights and state, the optimizer's
    /// variables and step, generators and history, so training continues exactly where it stopped.
    public func restore(_ state: TrainerState) throws {
        func load(_ values: [Float]?, into t: Tensor, _ what: String) throws {
            guard let values, values.count == t.count else {
                throw DataError("checkpoint", "\(what) are missing or have the wrong size")
            }
            values.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: values.count) }
        }
        for (path, p) in model.namedParameters { try load(state.weights[path], into: p.value, "weights for \(path)") }
        for (path, s) in model.namedState { try load(state.state[path], into: s.value, "the state \(path)") }
        for (slot, tensors) in optimizer.slots {
            for ((path, _), t) in zip(model.namedParameters, tensors) {
                try load(state.optimizerSlots[slot]?[path], into: t, "optimizer variables \(slot) for \(path)")
            }
        }
        optimizer.restore(step: state.step)
        shuffleRNG = Xoshiro256(state: state.shuffleRNG)
        augmentationRNG = Xoshiro256(state: state.augmentationRNG)
        if let dropout = state.dropoutRNG {
            model.random.generator = Xoshiro256(state: dropout)
        } else if model.plan.layers.contains(where: { $0.configuration.typeName == Dropout.Configuration.typeName }) {
            throw DataError("checkpoint", "the dropout generator's state is missing")
        }
        history = state.history
        if let pending = state.pendingEpoch {
            guard pending.order.count == trainSet.count, Set(pending.order).count == trainSet.count,
                  pending.order.allSatisfy({ $0 >= 0 && $0 < trainSet.count }) else {
                throw DataError("checkpoint", "the interrupted epoch's sample order does not fit this training set")
            }
        }
        pendingEpoch = state.pendingEpoch
    }

    /// Everything needed to resume after the last completed epoch.
    public func checkpointState() -> TrainerState {
        var weights: [String: [Float]] = [:], variables: [String: [Float]] = [:], slots: [String: [String: [Float]]] = [:]
        for (path, p) in model.namedParameters { weights[path] = p.value.array }
        for (path, s) in model.namedState { variables[path] = s.value.array }
        for (slot, tensors) in optimizer.slots {
            slots[slot] = Dictionary(uniqueKeysWithValues: zip(model.namedParameters, tensors).map { ($0.path, $1.array) })
        }
        return TrainerState(weights: weights, state: variables, optimizerSlots: slots, step: optimizer.step,
                            shuffleRNG: shuffleRNG.words, augmentationRNG: augmentationRNG.words,
                            dropoutRNG: model.random.generator.words, history: history, pendingEpoch: pendingEpoch,
                            engineThreads: EngineThreads.count)
    }
}

/// A trainer's resumable state between epochs.
public struct TrainerState: Sendable {
    /// Parameters and state (moving statistics) by Keras path.
    public var weights: [String: [Float]]
    public var state: [String: [Float]]
    /// The optimizer's variables: by slot (`adam_m`, ...), then by parameter path.
    public var optimizerSlots: [String: [String: [Float]]]
    public var step: Int
    public var shuffleRNG: [UInt64]
    public var augmentationRNG: [UInt64]
    /// The dropout generator (nil in checkpoints written before dropout existed).
    public var dropoutRNG: [UInt64]?
    public var history: History
    /// The epoch under way when a stop was requested, to continue from its next batch.
    public var pendingEpoch: EpochInProgress?
    /// The engine threads the epochs so far were computed with, for the record only: the numbers
    /// do not depend on it (backward and products split the batch into the same parts whatever
    /// the count), so a run may resume on another count. One caveat: a checkpoint an older build
    /// wrote on other than two threads holds that build's numbers for its count, which this build
    /// computes only on two. Nil in checkpoints written before it was recorded.
    public var engineThreads: Int? = nil
}

/// How far an interrupted epoch got: its sample order, the next batch, and the running sums its
/// figures are averaged from.
public struct EpochInProgress: Sendable, Equatable {
    public var order: [Int]
    public var nextBatch = 0
    public var lossSum = 0.0
    public var correct = 0
    public var seen = 0
    /// Seconds already spent on the epoch.
    public var elapsed = 0.0

    public init(order: [Int], nextBatch: Int = 0, lossSum: Double = 0, correct: Int = 0, seen: Int = 0, elapsed: Double = 0) {
        self.order = order; self.nextBatch = nextBatch; self.lossSum = lossSum
        self.correct = correct; self.seen = seen; self.elapsed = elapsed
    }
}
