import Foundation

/// Every key a spec may hold, its type, its allowed range and its meaning. Parsing is strict: a
/// key not listed here, a value of the wrong type or out of range stops the run with the file,
/// line, key path and what was expected. `digitlab spec-keys` prints this table.
public enum SpecSchema {
    public enum Kind: Sendable {
        case int(ClosedRange<Int>)
        case double(ClosedRange<Double>, openLow: Bool, openHigh: Bool)
        case string
        case choice([String])
        case intList(ClosedRange<Int>, count: ClosedRange<Int>)
        case stringList

        public var expectation: String {
            switch self {
            case let .int(r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
            case let .double(r, lo, hi):
                return "a number " + (lo ? "above " : "from ") + format(r.lowerBound)
                    + (hi ? " and below " : " to ") + format(r.upperBound)
            case .string: return "a string"
            case let .choice(c): return "one of " + c.joined(separator: ", ")
            case let .intList(r, n):
                return "a list of \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound) to \(n.upperBound)") integers from \(r.lowerBound) to \(r.upperBound)"
            case .stringList: return "a list of names"
            }
        }

        private func format(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : "\(x)"
        }
    }

    public struct Field: Sendable {
        public let path: String
        public let kind: Kind
        public let required: Bool
        public let help: String
    }

    private static func field(_ path: String, _ kind: Kind, required: Bool = true, _ help: String) -> Field {
        Field(path: path, kind: kind, required: required, help: help)
    }

    public static let fields: [Field] = [
        field("extends", .string, required: false, "a spec file (relative to this one) whose keys this spec starts from"),
        field("name", .string, "the run's name; results go to results/runs/NAME"),
        field("description", .string, required: false, "what the spec is for"),
        field("paper_case", .int(1...8), required: false, "the case of the paper's results table this spec reproduces"),
        field("dataset", .choice(["mnist", "fashion-mnist"]), "the IDX dataset to train and test on"),
        field("preprocessing.normalization", .choice(Normalization.allCases.map(\.rawValue)),
              "keras-normalize: tf.keras.utils.normalize(x, axis=1), each image column to unit L2 norm; scale: x / 255"),
        field("model.conv_filters", .intList(1...1024, count: 1...6), "filters of each Conv2D+ReLU+MaxPool block"),
        field("model.kernel_size", .int(1...9), "square kernel size of every convolution"),
        field("model.pool_size", .int(1...4), "square window and stride of every max pooling"),
        field("model.dense_units", .intList(1...4096, count: 1...8),
              "units of every dense layer, the last being the number of classes (10)"),
        field("regularization.l2_factor", .double(0...10, openLow: false, openHigh: false), "the L2 factor lambda: the loss gains lambda * sum(w^2)"),
        field("regularization.l2_layers", .stringList, "layers (conv1, conv2, ..., dense1, ...) whose kernel and bias carry the L2 term"),
        field("augmentation.rotation_range", .double(0...180, openLow: false, openHigh: false),
              "random rotation in degrees, uniform in [-R, R] per image per epoch (ImageDataGenerator rotation_range)"),
        field("augmentation.width_shift_range", .double(0...1, openLow: false, openHigh: true),
              "random horizontal shift as a fraction of the width (ImageDataGenerator width_shift_range)"),
        field("augmentation.height_shift_range", .double(0...1, openLow: false, openHigh: true),
              "random vertical shift as a fraction of the height (ImageDataGenerator height_shift_range)"),
        field("optimizer.learning_rate", .double(0...1, openLow: true, openHigh: false), "Adam's learning rate"),
        field("optimizer.beta_1", .double(0...1, openLow: false, openHigh: true), "Adam's first-moment decay"),
        field("optimizer.beta_2", .double(0...1, openLow: false, openHigh: true), "Adam's second-moment decay"),
        field("optimizer.epsilon", .double(0...1, openLow: true, openHigh: false), "Adam's epsilon, added to sqrt(v) as Keras does"),
        field("training.batch_size", .int(1...4096), "minibatch size"),
        field("training.epochs", .int(1...1000), "passes over the training data"),
        field("training.seed", .int(0...Int(Int32.max)), "seed of the weights, the shuffling and the augmentation"),
        field("training.seeds", .intList(0...Int(Int32.max), count: 1...100), required: false,
              "seeds for `digitlab reproduce` to run this spec with (default: training.seed)"),
        field("training.validation_split", .double(0...1, openLow: false, openHigh: true),
              "fraction of the training set, its last images before shuffling, held out for validation (Keras validation_split)"),
        field("training.limit", .int(1...10_000_000), required: false, "train on only the first N training images"),
    ]

    public static func field(at path: String) -> Field? { fields.first { $0.path == path } }

    /// The known key closest to a misspelt one, if any is close.
    public static func suggestion(for path: String) -> String? {
        let best = fields.map { ($0.path, editDistance($0.path, path)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, path.count / 4) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
