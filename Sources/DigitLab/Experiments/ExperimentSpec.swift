import DigitLabEngine
import Foundation

/// A declarative experiment: the dataset, preprocessing, network, regularization, augmentation,
/// optimizer and training settings of one run, read strictly from YAML (see `SpecSchema`).
///
/// A spec may `extends:` a base spec; its keys are laid over the base's. The paper's eight cases
/// each extend `experiments/base.yaml` and set only the three knobs the paper varies.
public struct ExperimentSpec: Sendable {
    public var name: String
    public var description: String?
    public var paperCase: Int?
    public var dataset: String
    public var normalization: Normalization
    /// ImageDataGenerator's standardize steps, as the spec sets them.
    public var standardization: Standardization
    public var architecture: Architecture
    public var l2Factor: Double
    public var l2Layers: [String]
    public var augmentation: Augmentation
    public var adam: Adam.Settings
    public var batchSize: Int
    public var epochs: Int
    public var seed: Int
    public var seeds: [Int]?
    public var validationSplit: Double
    public var limit: Int?
    /// The spec's `grid:`, in the order the file lists its keys: a sweep runs every combination
    /// of their values (see `gridPoints` and `SweepPlan`). Empty for a single run.
    public var grid: [GridAxis]
    /// The merged tree every field was read from, for writing the resolved spec.
    public let tree: SpecTree
    /// The file the spec was loaded from.
    public let file: String

    /// Loads a spec file, following `extends:`, applying `overrides` (`key.path=value`, each
    /// parsed as YAML and validated like the file), and checking every key.
    public static func load(path: String, overrides: [String] = []) throws -> ExperimentSpec {
        var tree = try loadWithBase(path: path, chain: [])
        for assignment in overrides {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw SpecError(file: "--set", key: assignment, problem: "expected KEY=VALUE, for example optimizer.learning_rate=5e-4")
            }
            let key = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
            if SpecSchema.isGridPath(key) {
                throw SpecError(file: "--set", key: key, problem: "a grid belongs in a spec file; --set changes single values")
            }
            guard SpecSchema.field(at: key) != nil, key != "extends" else {
                let hint = SpecSchema.suggestion(for: key).map { "; did you mean \($0)?" } ?? "; `digitlab spec-keys` lists them"
                throw SpecError(file: "--set", key: key, problem: "unknown key" + hint)
            }
            let value = try SpecTree.parse("v: " + text, file: "--set \(key)")["v"] ?? .scalar("", .init(file: "--set", line: nil))
            tree = tree.setting(key.split(separator: ".").map(String.init), to: value)
        }
        return try ExperimentSpec(tree: tree, file: path)
    }

    private static func loadWithBase(path: String, chain: [String]) throws -> SpecTree {
        let tree = try SpecTree.load(path: path)
        guard case .map = tree else {
            throw SpecError(file: path, line: tree.origin.line, key: "", problem: "a spec is a map of keys (name:, model:, training:, ...)")
        }
        guard let base = tree["extends"] else { return tree }
        guard case let .scalar(relative, origin) = base else {
            throw SpecError(file: path, line: base.origin.line, key: "extends", problem: "expected a file name")
        }
        let basePath = relative.hasPrefix("/") ? relative
            : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(relative).path
        guard !chain.contains(basePath), chain.count < 8 else {
            throw SpecError(file: path, line: origin.line, key: "extends", problem: "specs extend each other in a cycle")
        }
        guard FileManager.default.fileExists(atPath: basePath) else {
            throw SpecError(file: path, line: origin.line, key: "extends", problem: "base spec \(basePath) does not exist")
        }
        return try loadWithBase(path: basePath, chain: chain + [path]).removing("extends").merged(with: tree.removing("extends"))
    }

    /// Validates a merged tree against the schema and reads every field.
    public init(tree: SpecTree, file: String) throws {
        self.tree = tree
        self.file = file
        let leaves = tree.leaves()
        var values: [String: SpecTree] = [:]
        for (path, value) in leaves where path != "extends" && !SpecSchema.isGridPath(path) {
            guard SpecSchema.field(at: path) != nil else {
                let file = value.origin.file, line = value.origin.line
                if SpecSchema.fields.contains(where: { $0.path.hasPrefix(path + ".") }) {
                    let keys = SpecSchema.fields.filter { $0.path.hasPrefix(path + ".") }.map { $0.path.dropFirst(path.count + 1) }
                    throw SpecError(file: file, line: line, key: path, problem: "expected a map with keys " + keys.joined(separator: ", "))
                }
                let hint = SpecSchema.suggestion(for: path).map { "; did you mean \($0)?" } ?? ""
                throw SpecError(file: file, line: line, key: path, problem: "unknown key" + hint)
            }
            values[path] = value
        }
        for field in SpecSchema.fields where field.required && values[field.path] == nil {
            throw SpecError(file: file, key: field.path, problem: "missing; expected \(field.kind.expectation) (\(field.help))")
        }
        let reader = SpecReader(values: values)
        name = try reader.string("name")!
        description = try reader.string("description")
        paperCase = try reader.int("paper_case")
        dataset = try reader.string("dataset")!
        normalization = Normalization(rawValue: try reader.string("preprocessing.normalization")!)!
        standardization = Standardization(
            featurewiseCenter: try reader.bool("preprocessing.featurewise_center")!,
            featurewiseStdNormalization: try reader.bool("preprocessing.featurewise_std_normalization")!,
            samplewiseCenter: try reader.bool("preprocessing.samplewise_center")!,
            samplewiseStdNormalization: try reader.bool("preprocessing.samplewise_std_normalization")!,
            zcaWhitening: try reader.bool("preprocessing.zca_whitening")!,
            zcaEpsilon: try reader.double("preprocessing.zca_epsilon")!)
        architecture = Architecture(inputShape: [28, 28, 1],
                                    convFilters: try reader.intList("model.conv_filters")!,
                                    kernelSize: try reader.int("model.kernel_size")!,
                                    poolSize: try reader.int("model.pool_size")!,
                                    denseUnits: try reader.intList("model.dense_units")!)
        l2Factor = try reader.double("regularization.l2_factor")!
        l2Layers = try reader.stringList("regularization.l2_layers")!
        augmentation = Augmentation(rotationRange: try reader.double("augmentation.rotation_range")!,
                                    heightShiftRange: try reader.double("augmentation.height_shift_range")!,
                                    widthShiftRange: try reader.double("augmentation.width_shift_range")!,
                                    horizontalFlip: try reader.bool("augmentation.horizontal_flip")!,
                                    verticalFlip: try reader.bool("augmentation.vertical_flip")!)
        adam = Adam.Settings(learningRate: Float(try reader.double("optimizer.learning_rate")!),
                             beta1: Float(try reader.double("optimizer.beta_1")!),
                             beta2: Float(try reader.double("optimizer.beta_2")!),
                             epsilon: Float(try reader.double("optimizer.epsilon")!))
        batchSize = try reader.int("training.batch_size")!
        epochs = try reader.int("training.epochs")!
        seed = try reader.int("training.seed")!
        seeds = try reader.intList("training.seeds")
        validationSplit = try reader.double("training.validation_split")!
        limit = try reader.int("training.limit")

        if let problem = architecture.problem {
            throw reader.error("model.conv_filters", problem)
        }
        if architecture.classes != 10 {
            throw reader.error("model.dense_units", "the last dense layer must have 10 units, one per class; it has \(architecture.classes)")
        }
        let weighted = Model.layerNames(architecture).filter { $0.hasPrefix("conv") || $0.hasPrefix("dense") }
        for layer in l2Layers where !weighted.contains(layer) {
            throw reader.error("regularization.l2_layers", "\"\(layer)\" is not a layer with weights; expected some of \(weighted.joined(separator: ", "))")
        }
        if let problem = standardization.problem {
            throw reader.error("preprocessing.zca_whitening", problem)
        }
        if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw reader.error("name", "expected a plain name (no slashes, not starting with a dot)")
        }
        grid = try Self.readGrid(tree: tree, file: file)
    }

    /// One key of a grid and the values to try.
    public struct GridAxis: Sendable {
        /// The spec key, e.g. `optimizer.learning_rate`.
        public let key: String
        /// The values as the spec gives them, each valid for the key.
        public let values: [SpecTree]

        /// A value as short text for run names: a scalar as written, a list's items joined by "-".
        public static func label(_ value: SpecTree) -> String {
            switch value {
            case let .scalar(s, _): return s
            case let .list(items, _): return items.map(label).joined(separator: "-")
            case let .map(entries, _): return entries.map { "\($0.key)=\(label($0.value))" }.joined(separator: ",")
            }
        }
    }

    /// One combination of grid values: for each axis, in grid order, its key and a value.
    public typealias GridPoint = [(key: String, value: SpecTree)]

    /// Every combination of the grid's values, the last key varying fastest (as Hydra's and
    /// itertools' product do); one empty point when there is no grid.
    public var gridPoints: [GridPoint] {
        grid.reduce([[]]) { points, axis in points.flatMap { p in axis.values.map { p + [(key: axis.key, value: $0)] } } }
    }

    /// This spec at one grid point: the grid's values laid over the spec, and no grid. Combinations
    /// are checked like a spec file; a problem names the grid point.
    public func applying(_ point: GridPoint) throws -> ExperimentSpec {
        var t = tree.removing("grid")
        for (key, value) in point { t = t.setting(key.split(separator: ".").map(String.init), to: value) }
        do {
            return try ExperimentSpec(tree: t, file: file)
        } catch let e as SpecError where !point.isEmpty {
            let setting = point.map { "\($0.key)=\(GridAxis.label($0.value))" }.joined(separator: ", ")
            throw SpecError(file: e.file, line: e.line, key: e.key, problem: e.problem + " (at the grid point \(setting))")
        }
    }

    /// Reads and checks `grid:`: a map from known, sweepable spec keys to non-empty lists of
    /// distinct values, each value valid for its key as if the spec had set it.
    private static func readGrid(tree: SpecTree, file: String) throws -> [GridAxis] {
        guard let node = tree["grid"] else { return [] }
        let entries: [(path: String, value: SpecTree)]
        switch node {
        case let .scalar(s, _) where SpecSchema.isNull(s): return []
        case .map: entries = node.leaves()
        default:
            throw SpecError(file: node.origin.file, line: node.origin.line, key: "grid",
                            problem: "expected a map from spec keys to lists of values, for example optimizer.learning_rate: [0.001, 0.0005]")
        }
        let base = tree.removing("grid")
        var axes: [GridAxis] = []
        for (key, value) in entries {
            let gridKey = "grid." + key
            func error(_ problem: String, at origin: SpecTree.Origin? = nil) -> SpecError {
                let o = origin ?? value.origin
                return SpecError(file: o.file, line: o.line, key: gridKey, problem: problem)
            }
            if let reason = SpecSchema.unsweepable[key] { throw error("cannot be swept: " + reason) }
            guard let field = SpecSchema.field(at: key) else {
                let hint = SpecSchema.suggestion(for: key).map { "; did you mean grid.\($0)?" } ?? "; `digitlab spec-keys` lists the keys"
                throw error("unknown key" + hint)
            }
            let listKind: Bool
            switch field.kind {
            case .intList, .stringList: listKind = true
            default: listKind = false
            }
            let example = listKind ? "[[64, 32, 10], [64, 64, 32, 10]]" : "[0.001, 0.0005]"
            guard case let .list(items, _) = value, !items.isEmpty else {
                throw error("expected a list of values to try, for example \(example)")
            }
            if listKind, let item = items.first(where: { if case .list = $0 { return false } else { return true } }) {
                throw error("expected a list of values, each \(field.kind.expectation), for example \(example)", at: item.origin)
            }
            var seen: Set<String> = []
            for item in items {
                let label = GridAxis.label(item)
                guard seen.insert(label).inserted else { throw error("the value \(label) appears twice", at: item.origin) }
                do {
                    _ = try ExperimentSpec(tree: base.setting(key.split(separator: ".").map(String.init), to: item), file: file)
                } catch let e as SpecError {
                    let origin = SpecTree.Origin(file: e.file, line: e.line ?? item.origin.line)
                    throw error(e.key == key ? e.problem : "with \(key) = \(label): \(e.key): \(e.problem)", at: origin)
                }
            }
            axes.append(GridAxis(key: key, values: items))
        }
        return axes
    }

    /// The training loop's settings for one seed.
    public func trainingConfig(seed: Int? = nil) -> TrainingConfig {
        var c = TrainingConfig()
        c.architecture = architecture
        c.normalization = normalization
        c.l2Layers = l2Layers
        c.l2Factor = Float(l2Factor)
        c.adam = adam
        c.batchSize = batchSize
        c.epochs = epochs
        c.seed = UInt64(seed ?? self.seed)
        c.validationSplit = validationSplit
        c.limit = limit
        c.augmentation = augmentation
        c.standardization = standardization
        return c
    }

    /// The dataset's files.
    public var datasetFiles: DatasetFiles { DatasetFiles.named(dataset)! }

    /// The resolved spec as YAML: every key, in schema order, with the values in force. Keys that
    /// have a default (ImageDataGenerator's options added after the first runs) appear only when
    /// they differ from it, so a resolved spec from before they existed still matches.
    public var resolvedYAML: String {
        var lines = ["# resolved from \(file): every key in force for this run"]
        var section = ""
        for field in SpecSchema.fields where field.path != "extends" && field.path != "grid" {
            guard let value = tree.leaves().first(where: { $0.path == field.path })?.value else { continue }
            if case let .scalar(s, _) = value, field.isDefault(s) || (!field.required && SpecSchema.isNull(s)) { continue }
            let parts = field.path.split(separator: ".")
            if parts.count == 2 {
                if section != String(parts[0]) { section = String(parts[0]); lines.append("\(section):") }
                lines.append("  \(parts[1]): \(Self.yaml(value))")
            } else {
                section = ""
                lines.append("\(field.path): \(Self.yaml(value))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar that reads back as `s`: backslashes and quotes escaped, and
    /// every character YAML would fold (line breaks) or refuse (control characters) as an escape.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
                    let hex = String(v, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func yaml(_ value: SpecTree) -> String {
        switch value {
        case let .scalar(s, _):
            // Plain when YAML reads it back as the same string ("-" alone would start a list).
            let plain = s != "-" && s.range(of: #"^[A-Za-z0-9_.+\-]+$"#, options: .regularExpression) != nil
            return plain ? s : quoted(s)
        case let .list(items, _): return "[" + items.map(yaml).joined(separator: ", ") + "]"
        case .map: return "{}"
        }
    }
}

/// Typed access to validated spec values, with errors that point at the value's file and line.
private struct SpecReader {
    let values: [String: SpecTree]

    func error(_ path: String, _ problem: String) -> SpecError {
        let origin = values[path]?.origin
        return SpecError(file: origin?.file ?? "spec", line: origin?.line, key: path, problem: problem)
    }

    private func expected(_ path: String) -> SpecError {
        let kind = SpecSchema.field(at: path)!.kind
        let got: String
        switch values[path] {
        case let .scalar(s, _)?: got = s.isEmpty ? "nothing" : "\"\(s)\""
        case .list?: got = "a list"
        case .map?: got = "a map"
        case nil: got = "nothing"
        }
        return error(path, "expected \(kind.expectation), got \(got)")
    }

    /// The key's scalar, or its default when the spec leaves it out.
    private func scalar(_ path: String) throws -> String? {
        let field = SpecSchema.field(at: path)
        guard let v = values[path] else { return field?.defaultValue }
        guard case let .scalar(s, _) = v else { throw expected(path) }
        if let field, !field.required, SpecSchema.isNull(s) { return field.defaultValue }
        return s
    }

    func string(_ path: String) throws -> String? {
        guard let s = try scalar(path) else { return nil }
        if case let .choice(options) = SpecSchema.field(at: path)!.kind, !options.contains(s) { throw expected(path) }
        return s
    }

    func bool(_ path: String) throws -> Bool? {
        guard let s = try scalar(path) else { return nil }
        guard let v = SpecSchema.bool(s) else { throw expected(path) }
        return v
    }

    func int(_ path: String) throws -> Int? {
        guard let s = try scalar(path) else { return nil }
        guard case let .int(range) = SpecSchema.field(at: path)!.kind, let v = Int(s.replacingOccurrences(of: "_", with: "")),
              range.contains(v) else { throw expected(path) }
        return v
    }

    func double(_ path: String) throws -> Double? {
        guard let s = try scalar(path) else { return nil }
        guard case let .double(range, openLow, openHigh) = SpecSchema.field(at: path)!.kind, let v = Double(s), v.isFinite,
              range.contains(v), !(openLow && v == range.lowerBound), !(openHigh && v == range.upperBound) else {
            throw expected(path)
        }
        return v
    }

    func intList(_ path: String) throws -> [Int]? {
        guard let v = values[path] else { return nil }
        guard case let .list(items, _) = v, case let .intList(range, count) = SpecSchema.field(at: path)!.kind,
              count.contains(items.count) else { throw expected(path) }
        return try items.map { item in
            guard case let .scalar(s, _) = item, let n = Int(s), range.contains(n) else { throw expected(path) }
            return n
        }
    }

    func stringList(_ path: String) throws -> [String]? {
        guard let v = values[path] else { return nil }
        guard case let .list(items, _) = v else { throw expected(path) }
        return try items.map { item in
            guard case let .scalar(s, _) = item else { throw expected(path) }
            return s
        }
    }
}
