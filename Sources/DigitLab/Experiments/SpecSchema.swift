import DigitLabEngine
import Foundation

/// Every key a spec may hold, its type, its allowed range and its meaning. Parsing is strict: a
/// key not listed here, a value of the wrong type or out of range stops the run with the file,
/// line, key path and what was expected. `digitlab spec-keys` prints this table.
public enum SpecSchema {
    public enum Kind: Sendable {
        case int(ClosedRange<Int>)
        case double(ClosedRange<Double>, openLow: Bool, openHigh: Bool)
        case bool
        case string
        case choice([String])
        case intList(ClosedRange<Int>, count: ClosedRange<Int>)
        case stringList
        /// `grid:`, the one key that is not a leaf: a map from spec keys to lists of values, each
        /// value valid for its key. A sweep runs the spec at every combination (see `SweepPlan`).
        case grid
        /// `model.layers:`: a list of one-key maps from a layer type (`LayerCatalog`) to its settings.
        case layers

        public var expectation: String {
            switch self {
            case let .int(r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
            case let .double(r, lo, hi):
                return "a number " + (lo ? "above " : "from ") + format(r.lowerBound)
                    + (hi ? " and below " : " to ") + format(r.upperBound)
            case .bool: return "true or false"
            case .string: return "a string"
            case let .choice(c): return "one of " + c.joined(separator: ", ")
            case let .intList(r, n):
                return "a list of \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound) to \(n.upperBound)") integers from \(r.lowerBound) to \(r.upperBound)"
            case .stringList: return "a list of names"
            case .grid: return "a map from spec keys to lists of values"
            case .layers: return "a list of layers, each a one-key map from its type to its settings, e.g. - conv2d: {filters: 64, kernel_size: 3}"
            }
        }

        private func format(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : "\(x)"
        }
    }

    /// YAML 1.2's core-schema booleans.
    public static func bool(_ s: String) -> Bool? {
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// YAML's null (`~`, `null` or nothing): on an optional key, it clears a value inherited from
    /// a base spec (a spec beyond the paper that extends a case clears `paper_case: ~`).
    public static func isNull(_ s: String) -> Bool {
        ["", "~", "null", "Null", "NULL"].contains(s)
    }

    /// One key: its path, kind, whether it is required, its default, its meaning, and where its
    /// value goes in an `ExperimentSpec` (the key is spelled here only).
    public struct Field: Sendable {
        public let path: String
        public let kind: Kind
        public let required: Bool
        public let help: String
        /// For an optional key that has one, the value in force when a spec leaves it out. The
        /// resolved spec leaves the key out while it holds this value, so that the resolved specs
        /// of runs made before the key existed still match, and those runs count as finished.
        public let defaultValue: String?
        /// Reads the key's value (or its default) into the spec.
        let read: @Sendable (SpecReader, inout ExperimentSpec) throws -> Void

        /// Whether `value` is the default (compared as the key's type: `1e-6` is `1.0e-6`).
        public func isDefault(_ value: String) -> Bool {
            guard let d = defaultValue else { return false }
            switch kind {
            case .bool: return SpecSchema.bool(value) != nil && SpecSchema.bool(value) == SpecSchema.bool(d)
            case .double: return Double(value) != nil && Double(value) == Double(d)
            case .int: return Int(value) != nil && Int(value) == Int(d)
            default: return value == d
            }
        }
    }

    private typealias Into<Value> = WritableKeyPath<ExperimentSpec, Value> & Sendable

    private static func make(_ path: String, _ kind: Kind, _ required: Bool, _ value: String?, _ help: String,
                             _ read: @escaping @Sendable (SpecReader, inout ExperimentSpec) throws -> Void) -> Field {
        Field(path: path, kind: kind, required: required && value == nil, help: help, defaultValue: value, read: read)
    }

    // One constructor per kind of property a key sets; a required key (or one with a default)
    // always has a value, so its property is not optional.
    private static func field(_ path: String, _ kind: Kind, _ into: Into<String>, _ help: String) -> Field {
        make(path, kind, true, nil, help) { r, s in s[keyPath: into] = try r.string(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<String?>, _ help: String) -> Field {
        make(path, kind, false, nil, help) { r, s in s[keyPath: into] = try r.string(path) }
    }
    private static func field<E: RawRepresentable & Sendable>(_ path: String, _ kind: Kind, _ into: Into<E>, default value: String? = nil,
                                                              _ help: String) -> Field where E.RawValue == String {
        make(path, kind, true, value, help) { r, s in s[keyPath: into] = E(rawValue: try r.string(path)!)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<Int>, _ help: String) -> Field {
        make(path, kind, true, nil, help) { r, s in s[keyPath: into] = try r.int(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<Int?>, _ help: String) -> Field {
        make(path, kind, false, nil, help) { r, s in s[keyPath: into] = try r.int(path) }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<Double>, default value: String? = nil, _ help: String) -> Field {
        make(path, kind, true, value, help) { r, s in s[keyPath: into] = try r.double(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<Bool>, default value: String, _ help: String) -> Field {
        make(path, kind, true, value, help) { r, s in s[keyPath: into] = try r.bool(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<[Int]>, _ help: String) -> Field {
        make(path, kind, true, nil, help) { r, s in s[keyPath: into] = try r.intList(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<[Int]?>, _ help: String) -> Field {
        make(path, kind, false, nil, help) { r, s in s[keyPath: into] = try r.intList(path) }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<[String]>, _ help: String) -> Field {
        make(path, kind, true, nil, help) { r, s in s[keyPath: into] = try r.stringList(path)! }
    }
    private static func field(_ path: String, _ kind: Kind, _ into: Into<[ExperimentSpec.LayerEntry]?>, _ help: String) -> Field {
        make(path, kind, false, nil, help) { r, s in s[keyPath: into] = try r.layers(path) }
    }
    /// A key read elsewhere (`extends`, `grid`).
    private static func field(_ path: String, _ kind: Kind, readElsewhere help: String) -> Field {
        make(path, kind, false, nil, help) { _, _ in }
    }

    /// The shorthand keys of the paper's family, which `model.layers` replaces.
    public static let shorthandKeys = ["model.conv_filters", "model.kernel_size", "model.pool_size", "model.dense_units"]

    public static let fields: [Field] = [
        field("extends", .string, readElsewhere: "a spec file (relative to this one) whose keys this spec starts from"),
        field("name", .string, \.name, "the run's name; results go to results/runs/NAME"),
        field("description", .string, \.description, "what the spec is for"),
        field("paper_case", .int(1...8), \.paperCase, "the case of the paper's results table this spec reproduces"),
        field("dataset", .choice(["mnist", "fashion-mnist"]), \.dataset, "the IDX dataset to train and test on"),
        field("preprocessing.normalization", .choice(Normalization.allCases.map(\.rawValue)), \.normalization,
              "keras-normalize: tf.keras.utils.normalize(x, axis=1), each image column to unit L2 norm; scale: x / 255"),
        // ImageDataGenerator's standardize: fitted on the training split after normalization, applied to
        // training, validation and test images, in this order: samplewise, featurewise, ZCA.
        field("preprocessing.featurewise_center", .bool, \.standardization.featurewiseCenter, default: "false",
              "subtract the mean pixel of the training split (one mean per channel) from every image (ImageDataGenerator featurewise_center)"),
        field("preprocessing.featurewise_std_normalization", .bool, \.standardization.featurewiseStdNormalization, default: "false",
              "divide every image by the pixel std of the training split + 1e-6; turns featurewise_center on, as Keras does"),
        field("preprocessing.samplewise_center", .bool, \.standardization.samplewiseCenter, default: "false",
              "subtract each image's own mean (ImageDataGenerator samplewise_center)"),
        field("preprocessing.samplewise_std_normalization", .bool, \.standardization.samplewiseStdNormalization, default: "false",
              "divide each image by its own std + 1e-6; turns samplewise_center on, as Keras does"),
        field("preprocessing.zca_whitening", .bool, \.standardization.zcaWhitening, default: "false",
              "multiply every flattened image by the ZCA matrix of the centred training split, fitted in double precision; turns featurewise_center on; not with featurewise_std_normalization (Keras would drop it)"),
        field("preprocessing.zca_epsilon", .double(0...1, openLow: true, openHigh: false), \.standardization.zcaEpsilon, default: "1e-6",
              "ZCA whitening's epsilon, added to each singular value: W = U diag(sqrt(n) / (s + epsilon)) U^T"),
        field("model.conv_filters", .intList(1...1024, count: 1...6), \.shorthand.convFilters,
              "the paper's shorthand: filters of each Conv2D+ReLU+MaxPool block (or model.layers)"),
        field("model.kernel_size", .int(1...9), \.shorthand.kernelSize, "the paper's shorthand: square kernel size of every convolution"),
        field("model.pool_size", .int(1...4), \.shorthand.poolSize, "the paper's shorthand: square window and stride of every max pooling"),
        field("model.dense_units", .intList(1...4096, count: 1...8), \.shorthand.denseUnits,
              "the paper's shorthand: units of every dense layer, the last being the number of classes (10)"),
        field("model.layers", .layers, \.layerList,
              "the network as a list of layers instead of the shorthand (`digitlab spec-keys` lists the types and their settings)"),
        field("model.convolution", .choice(ConvolutionChoice.allCases.map(\.rawValue)), \.convolution, default: "auto",
              "the kernels 3x3 convolutions run on: auto (the direct kernels, or im2col where OpenBLAS's are faster; DIGITLAB_CONVOLUTION may decide), direct, im2col, or winograd (F(2x2,3x3) where channels and filters are multiples of the tile width; other layers as auto)"),
        field("regularization.l2_factor", .double(0...10, openLow: false, openHigh: false), \.l2Factor,
              "the L2 factor lambda: the loss gains lambda * sum(w^2)"),
        field("regularization.l2_layers", .stringList, \.l2Layers, "layers (conv1, conv2, ..., dense1, ...) whose kernel and bias carry the L2 term"),
        field("augmentation.rotation_range", .double(0...180, openLow: false, openHigh: false), \.augmentation.rotationRange,
              "random rotation in degrees, uniform in [-R, R] per image per epoch (ImageDataGenerator rotation_range)"),
        field("augmentation.width_shift_range", .double(0...1, openLow: false, openHigh: true), \.augmentation.widthShiftRange,
              "random horizontal shift as a fraction of the width (ImageDataGenerator width_shift_range)"),
        field("augmentation.height_shift_range", .double(0...1, openLow: false, openHigh: true), \.augmentation.heightShiftRange,
              "random vertical shift as a fraction of the height (ImageDataGenerator height_shift_range)"),
        field("augmentation.horizontal_flip", .bool, \.augmentation.horizontalFlip, default: "false",
              "mirror each image left-right with probability 1/2 per epoch, after the rotation and shifts (ImageDataGenerator horizontal_flip)"),
        field("augmentation.vertical_flip", .bool, \.augmentation.verticalFlip, default: "false",
              "flip each image upside down with probability 1/2 per epoch, after the horizontal flip (ImageDataGenerator vertical_flip)"),
        field("optimizer.name", .choice(ExperimentSpec.OptimizerName.allCases.map(\.rawValue)), \.optimizerKeys.name, default: "adam",
              "adam, sgd or rmsprop, each with Keras's update rule"),
        field("optimizer.learning_rate", .double(0...1_000_000, openLow: true, openHigh: false), \.optimizerKeys.learningRate,
              "the learning rate (Keras's defaults: 0.001 for adam and rmsprop, 0.01 for sgd; much above 0.01 adam can diverge, which stops the run)"),
        field("optimizer.beta_1", .double(0...1, openLow: false, openHigh: true), \.optimizerKeys.beta1, "Adam's first-moment decay"),
        field("optimizer.beta_2", .double(0...1, openLow: false, openHigh: true), \.optimizerKeys.beta2, "Adam's second-moment decay"),
        field("optimizer.epsilon", .double(0...1, openLow: true, openHigh: false), \.optimizerKeys.epsilon,
              "Adam's epsilon, added to sqrt(v) as Keras does; RMSprop's, added to v under the square root"),
        field("optimizer.momentum", .double(0...1, openLow: false, openHigh: true), \.optimizerKeys.momentum, default: "0",
              "sgd and rmsprop: momentum (0: none)"),
        field("optimizer.nesterov", .bool, \.optimizerKeys.nesterov, default: "false", "sgd: Nesterov's momentum"),
        field("optimizer.rho", .double(0...1, openLow: true, openHigh: true), \.optimizerKeys.rho, default: "0.9",
              "rmsprop: decay of the running mean of squared gradients"),
        field("optimizer.centered", .bool, \.optimizerKeys.centered, default: "false",
              "rmsprop: divide by the gradients' running variance rather than their second moment"),
        field("training.batch_size", .int(1...4096), \.batchSize, "minibatch size"),
        field("training.epochs", .int(1...1000), \.epochs, "passes over the training data"),
        field("training.seed", .int(0...Int(Int32.max)), \.seed, "seed of the weights, the shuffling, the augmentation and dropout"),
        field("training.seeds", .intList(0...Int(Int32.max), count: 1...100), \.seeds,
              "seeds for `digitlab reproduce` to run this spec with (default: training.seed)"),
        field("training.validation_split", .double(0...1, openLow: false, openHigh: true), \.validationSplit,
              "fraction of the training set, its last images before shuffling, held out for validation (Keras validation_split)"),
        field("training.limit", .int(1...10_000_000), \.limit, "train on only the first N training images"),
        field("grid", .grid, readElsewhere:
              "a sweep: spec keys and the values to try, e.g. optimizer.learning_rate: [0.001, 0.0005]; `digitlab plan` runs every combination with every seed"),
    ]

    /// Keys a grid may not sweep: what names the spec or where it comes from, and the seeds,
    /// which `training.seeds` lists.
    public static let unsweepable: [String: String] = [
        "extends": "a grid sweeps values, not base specs; list several spec files instead",
        "name": "every point of a grid shares the spec's name; the run's directory adds the settings",
        "grid": "a grid cannot hold a grid",
        "training.seed": "list the seeds in training.seeds instead; every grid point runs with each of them",
        "training.seeds": "list the seeds in training.seeds instead; every grid point runs with each of them",
        "model.layers": "list several spec files instead, one per network",
    ]

    /// Whether `path` is `grid` or a key inside it.
    public static func isGridPath(_ path: String) -> Bool { path == "grid" || path.hasPrefix("grid.") }

    public static func field(at path: String) -> Field? { fields.first { $0.path == path } }

    /// The known key closest to a misspelt one, if any is close.
    public static func suggestion(for path: String) -> String? {
        guard path.count <= 100 else { return nil }
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
