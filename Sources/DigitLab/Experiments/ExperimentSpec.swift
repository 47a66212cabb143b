import DigitLabEngine
import Foundation

/// A declarative experiment: the dataset, preprocessing, network, regularization, augmentation,
/// optimizer and training settings of one run, read strictly from YAML. Every key is spelled once,
/// in `SpecSchema`, which also says where its value goes here.
///
/// A spec may `extends:` a base spec; its keys are laid over the base's. The paper's eight cases
/// each extend `experiments/base.yaml` and set only the three knobs the paper varies. The network
/// is either the paper's shorthand (`model.conv_filters`, `kernel_size`, `pool_size`,
/// `dense_units`), which stands for a layer list, or `model.layers`, which replaces a shorthand
/// inherited from a base.
public struct ExperimentSpec: Sendable {
    public var name = ""
    public var description: String?
    public var paperCase: Int?
    public var dataset = ""
    public var normalization = Normalization.kerasNormalize
    /// ImageDataGenerator's standardize steps, as the spec sets them.
    public var standardization = Standardization()
    public var l2Factor = 0.0
    public var l2Layers: [String] = []
    public var augmentation = Augmentation()
    public var batchSize = 0
    public var epochs = 0
    public var seed = 0
    public var seeds: [Int]?
    public var validationSplit = 0.0
    public var limit: Int?
    /// The spec's `grid:`, in the order the file lists its keys: a sweep runs every combination
    /// of their values (see `gridPoints` and `SweepPlan`). Empty for a single run.
    public var grid: [GridAxis] = []
    /// The merged tree every field was read from, for writing the resolved spec.
    public let tree: SpecTree
    /// The file the spec was loaded from.
    public let file: String

    /// The paper's shorthand keys, as the spec gives them (none when it gives `model.layers`).
    struct Shorthand: Sendable {
        var convFilters: [Int]?
        var kernelSize: Int?
        var poolSize: Int?
        var denseUnits: [Int]?
    }
    var shorthand = Shorthand()

    /// One entry of `model.layers`: the layer, and where the spec gives it.
    public struct LayerEntry: Sendable {
        public let configuration: any LayerConfiguration
        public let origin: SpecTree.Origin
    }
    /// `model.layers`, when the spec gives it.
    var layerList: [LayerEntry]?
    /// The kernels the network's convolutions are asked to run on (`model.convolution`).
    public var convolution = ConvolutionChoice.auto

    public enum OptimizerName: String, Sendable, CaseIterable { case adam, sgd, rmsprop }
    /// The `optimizer.` keys as read; `optimizer` is made from them.
    struct OptimizerKeys: Sendable {
        var name = OptimizerName.adam
        var learningRate = 0.0, beta1 = 0.0, beta2 = 0.0, epsilon = 0.0, momentum = 0.0, rho = 0.0
        var nesterov = false, centered = false
    }
    var optimizerKeys = OptimizerKeys()

    /// The network's plan, built once from the model keys and the L2 keys.
    public var plan: LayerPlan { _plan! }
    private var _plan: LayerPlan?
    /// The optimizer and its settings.
    public private(set) var optimizer = OptimizerSettings.adam(Adam.Settings())

    public var architecture: Architecture { plan.architecture }
    /// Dense layers in the network (the paper's cases: 3 or 4).
    public var denseLayerCount: Int { plan.layers.filter { $0.configuration.typeName == Dense.Configuration.typeName }.count }

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
            let path = key.split(separator: ".").map(String.init)
            tree = try overlay(tree, SpecTree.map([], value.origin).setting(path, to: value), file: "--set")
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
        return try overlay(try loadWithBase(path: basePath, chain: chain + [path]).removing("extends"), tree.removing("extends"), file: path)
    }

    /// `over` laid over `base`, key by key, except that `model.layers` in `over` replaces the
    /// shorthand keys of `base`'s model (the network is one or the other); a shorthand key in
    /// `over` cannot change a base's `model.layers`.
    static func overlay(_ base: SpecTree, _ over: SpecTree, file: String) throws -> SpecTree {
        var base = base
        if let overModel = over["model"], let baseModel = base["model"] {
            if overModel["layers"] != nil {
                let shorthand = SpecSchema.shorthandKeys.map { String($0.dropFirst("model.".count)) }
                base = base.setting(["model"], to: shorthand.reduce(baseModel) { $0.removing($1) })
            } else if baseModel["layers"] != nil,
                      let key = SpecSchema.shorthandKeys.first(where: { overModel[String($0.dropFirst("model.".count))] != nil }) {
                let value = overModel[String(key.dropFirst("model.".count))]!
                throw SpecError(file: value.origin.file, line: value.origin.line, key: key,
                                problem: "the base spec gives model.layers, which this shorthand key cannot change; give model.layers here instead")
            }
        }
        return base.merged(with: over)
    }

    /// An empty spec for the schema's fields to fill in.
    private init(emptyFrom tree: SpecTree, file: String) {
        self.tree = tree
        self.file = file
    }

    /// Validates a merged tree against the schema and reads every field.
    public init(tree: SpecTree, file: String) throws {
        self.init(emptyFrom: tree, file: file)
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
        for field in SpecSchema.fields { try field.read(reader, &self) }

        _plan = try Self.plan(shorthand: shorthand, layers: layerList, l2Layers: l2Layers, l2Factor: l2Factor,
                              convolution: convolution, reader: reader, file: file)
        optimizer = try Self.optimizer(optimizerKeys, reader: reader)
        if let problem = standardization.problem {
            throw reader.error("preprocessing.zca_whitening", problem)
        }
        if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw reader.error("name", "expected a plain name (no slashes, not starting with a dot)")
        }
        grid = try Self.readGrid(tree: tree, file: file)
    }

    /// The network's plan from the shorthand or the layer list, with every problem pointing at
    /// the key, or the layer entry, that causes it.
    private static func plan(shorthand s: Shorthand, layers: [LayerEntry]?, l2Layers: [String], l2Factor: Double,
                             convolution: ConvolutionChoice,
                             reader: SpecReader, file: String) throws -> LayerPlan {
        let given = SpecSchema.shorthandKeys.filter { reader.values[$0] != nil }
        let architecture: Architecture
        if let layers {
            if let key = given.first {
                throw reader.error(key, "model.layers replaces the shorthand keys (conv_filters, kernel_size, pool_size, dense_units); give one or the other")
            }
            architecture = Architecture(inputShape: [28, 28, 1], layers: layers.map(\.configuration))
        } else {
            guard let convFilters = s.convFilters, let kernelSize = s.kernelSize, let poolSize = s.poolSize, let denseUnits = s.denseUnits else {
                let missing = SpecSchema.shorthandKeys.first { reader.values[$0] == nil }!
                throw SpecError(file: file, key: missing, problem: "missing; expected \(SpecSchema.field(at: missing)!.kind.expectation), or model.layers")
            }
            architecture = .paper(inputShape: [28, 28, 1], convFilters: convFilters, kernelSize: kernelSize, poolSize: poolSize,
                                  denseUnits: denseUnits)
        }
        /// The key, or the layer entry, a problem with layer `index` of the list comes from.
        func located(_ index: Int?, _ message: String) -> SpecError {
            guard let index else { return reader.error("regularization.l2_layers", message) }
            if let layers {
                let o = layers[index].origin
                return SpecError(file: o.file, line: o.line, key: "model.layers[\(index)]",
                                 problem: "\(layers[index].configuration.typeName): " + message)
            }
            // The shorthand's list: its convolution blocks, then flatten and the dense layers.
            let flatten = architecture.layers.firstIndex { $0.typeName == Flatten.Configuration.typeName } ?? 0
            return reader.error(index > flatten ? "model.dense_units" : "model.conv_filters", message)
        }
        let plan: LayerPlan
        do {
            plan = try LayerPlan(architecture, l2: Dictionary(uniqueKeysWithValues: l2Layers.map { ($0, Float(l2Factor)) }),
                                 convolution: convolution)
        } catch {
            throw located(error.index, error.message)
        }
        if plan.classes != 10 {
            let last = architecture.layers.lastIndex { $0.typeName == Dense.Configuration.typeName } ?? architecture.layers.count - 1
            throw located(last, "the last dense layer must have 10 units, one per class; it has \(plan.classes)")
        }
        return plan
    }

    /// The optimizer the keys name, refusing settings the named one does not have.
    private static func optimizer(_ k: OptimizerKeys, reader: SpecReader) throws -> OptimizerSettings {
        // The keys only some optimizers have, and which: a non-default value elsewhere is a mistake.
        let owners: [(key: String, set: Bool, for: [OptimizerName])] = [
            ("optimizer.momentum", k.momentum != 0, [.sgd, .rmsprop]), ("optimizer.nesterov", k.nesterov, [.sgd]),
            ("optimizer.rho", SpecSchema.field(at: "optimizer.rho")!.isDefault("\(k.rho)") == false, [.rmsprop]),
            ("optimizer.centered", k.centered, [.rmsprop]),
        ]
        for (key, set, names) in owners where set && !names.contains(k.name) {
            throw reader.error(key, "applies to \(names.map(\.rawValue).joined(separator: " and ")), not \(k.name.rawValue) (optimizer.name)")
        }
        let lr = Float(k.learningRate)
        switch k.name {
        case .adam: return .adam(Adam.Settings(learningRate: lr, beta1: Float(k.beta1), beta2: Float(k.beta2), epsilon: Float(k.epsilon)))
        case .sgd: return .sgd(SGD.Settings(learningRate: lr, momentum: Float(k.momentum), nesterov: k.nesterov))
        case .rmsprop:
            return .rmsprop(RMSprop.Settings(learningRate: lr, rho: Float(k.rho), momentum: Float(k.momentum), epsilon: Float(k.epsilon),
                                             centered: k.centered))
        }
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
        TrainingConfig(plan: plan, normalization: normalization, standardization: standardization, augmentation: augmentation,
                       optimizer: optimizer, batchSize: batchSize, seed: UInt64(seed ?? self.seed),
                       validationSplit: validationSplit, limit: limit)
    }

    /// The dataset's files.
    public var datasetFiles: DatasetFiles { DatasetFiles.named(dataset)! }

    /// The resolved spec as YAML: every key, in schema order, with the values in force. Keys that
    /// have a default (ImageDataGenerator's options added after the first runs, the optimizers
    /// beyond Adam) appear only when they differ from it, so a resolved spec from before they
    /// existed still matches. `model.layers` appears with every setting in force.
    public var resolvedYAML: String { resolvedYAML(seed: seed) }

    /// The resolved spec with `seed` as its `training.seed`.
    public func resolvedYAML(seed: Int) -> String {
        var lines = ["# resolved from \(file): every key in force for this run"]
        var section = ""
        let leaves = tree.setting(["training", "seed"], to: .scalar(String(seed), tree.origin)).leaves()
        for field in SpecSchema.fields where field.path != "extends" && field.path != "grid" {
            guard let value = leaves.first(where: { $0.path == field.path })?.value else { continue }
            if case let .scalar(s, _) = value, field.isDefault(s) || (!field.required && SpecSchema.isNull(s)) { continue }
            let parts = field.path.split(separator: ".")
            if parts.count == 2 {
                if section != String(parts[0]) { section = String(parts[0]); lines.append("\(section):") }
                if case .layers = field.kind, let layers = layerList {
                    lines.append("  \(parts[1]):")
                    for l in layers.map(\.configuration) {
                        let settings = l.settingValues.map { "\($0.key): \(Self.yaml(.scalar($0.value, value.origin)))" }
                        lines.append("    - \(l.typeName): {" + settings.joined(separator: ", ") + "}")
                    }
                } else {
                    lines.append("  \(parts[1]): \(Self.yaml(value))")
                }
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
struct SpecReader {
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

    /// `model.layers`: a list of one-key maps from a layer type to its settings (scalars), each
    /// checked against its type's settings (`LayerCatalog`); errors name the entry's index and line.
    func layers(_ path: String) throws -> [ExperimentSpec.LayerEntry]? {
        guard let v = values[path] else { return nil }
        guard case let .list(items, _) = v, !items.isEmpty else { throw expected(path) }
        guard items.count <= 200 else { throw error(path, "has \(items.count) layers; at most 200") }
        return try items.enumerated().map { i, item in
            let key = "\(path)[\(i)]"
            func fail(_ problem: String, at origin: SpecTree.Origin? = nil) -> SpecError {
                let o = origin ?? item.origin
                return SpecError(file: o.file, line: o.line, key: key, problem: problem)
            }
            guard case let .map(entries, _) = item, entries.count == 1 else {
                throw fail("expected a one-key map from a layer type to its settings, e.g. - dropout: {rate: 0.25}")
            }
            let (type, node) = (entries[0].key, entries[0].value)
            var settings: [(key: String, value: String)] = []
            switch node {
            case let .map(pairs, _):
                for (k, value) in pairs {
                    guard case let .scalar(text, _) = value else { throw fail("\(type): \(k): expected a single value", at: value.origin) }
                    settings.append((k, text))
                }
            case let .scalar(text, _) where SpecSchema.isNull(text): break
            default: throw fail("\(type): expected a map of settings, e.g. {rate: 0.25}, or {} for none", at: node.origin)
            }
            switch LayerCatalog.make(type: type, settings: settings) {
            case .success(let layer): return ExperimentSpec.LayerEntry(configuration: layer, origin: item.origin)
            case .failure(let e):
                guard !e.key.isEmpty else { throw fail(e.problem) }
                var origin: SpecTree.Origin?
                if case let .map(pairs, _) = node { origin = pairs.first { $0.key == e.key }?.value.origin }
                throw fail("\(type): \(e.key): \(e.problem)", at: origin)
            }
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
