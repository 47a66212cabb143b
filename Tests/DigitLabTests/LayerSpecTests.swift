import DigitLabTestSupport
import DigitLab
import DigitLabEngine
import Foundation
import Testing

/// `model.layers` in specs, the optimizers' keys, and the paper's shorthand as a layer list.
@Suite("Layer lists and optimizers in specs")
struct LayerSpecTests {
    static let experiments = TestPaths.root + "/experiments"

    /// Writes `yaml` as test.yaml beside copies of base.yaml and case7.yaml; returns its path.
    func write(_ yaml: String) -> String {
        let dir = TestPaths.temporaryDirectory("layers")
        for f in ["base.yaml", "case7.yaml"] { try? FileManager.default.copyItem(atPath: Self.experiments + "/" + f, toPath: dir + "/" + f) }
        let path = dir + "/test.yaml"
        FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
        return path
    }

    func loadError(_ yaml: String, overrides: [String] = []) -> SpecError? {
        do {
            _ = try ExperimentSpec.load(path: write(yaml), overrides: overrides)
            return nil
        } catch let e as SpecError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    static let head = "extends: base.yaml\nname: t\nmodel:\n  layers:\n"
    static let tail = "    - flatten: {}\n    - dense: {units: 10, activation: softmax}\n"

    @Test("the shorthand and the same list written out plan the same network, names and all")
    func shorthandIsAList() throws {
        let short = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml")
        let long = try ExperimentSpec.load(path: Self.experiments + "/beyond/case7-dropout.yaml", overrides: [
            "model.layers=[{conv2d: {filters: 64, kernel_size: 3}}, {activation: {activation: relu}}, {max_pool2d: {pool_size: 2}},"
                + " {conv2d: {filters: 64, kernel_size: 3}}, {activation: {activation: relu}}, {max_pool2d: {pool_size: 2}},"
                + " {conv2d: {filters: 64, kernel_size: 3}}, {activation: {activation: relu}}, {max_pool2d: {pool_size: 2}},"
                + " {flatten: {}}, {dense: {units: 64}}, {activation: {activation: relu}}, {dense: {units: 32}},"
                + " {activation: {activation: relu}}, {dense: {units: 10}}, {activation: {activation: softmax}}]",
        ])
        #expect(long.plan.layers.map(\.name) == short.plan.layers.map(\.name))
        #expect(long.plan.parameterShapes.map(\.shape) == short.plan.parameterShapes.map(\.shape))
        #expect(long.plan.layers.map(\.l2) == short.plan.layers.map(\.l2))
        #expect(long.architecture.layerSettings.map(\.type) == short.architecture.layerSettings.map(\.type))
        #expect(long.architecture.paper == nil && short.architecture.paper != nil)
        // The case's resolved spec keeps its shorthand (and its committed runs count as finished).
        #expect(short.resolvedYAML.contains("  conv_filters: [64, 64, 64]\n") && !short.resolvedYAML.contains("\n  layers:"))
    }

    @Test("experiments/beyond: each spec loads, plans and reads back from its resolved spec")
    func beyondSpecs() throws {
        for name in ["case7-dropout", "case7-batchnorm", "same-wide"] {
            let spec = try ExperimentSpec.load(path: Self.experiments + "/beyond/\(name).yaml")
            #expect(spec.name == name && spec.paperCase == nil && spec.plan.classes == 10)
            #expect(spec.l2Layers == ["conv1"] && spec.augmentation.rotationRange == 10)
            let path = write(spec.resolvedYAML)
            let again = try ExperimentSpec.load(path: path)
            #expect(again.trainingConfig() == spec.trainingConfig(), "\(name): the resolved spec reads back to another network")
            #expect(again.resolvedYAML.split(separator: "\n").dropFirst() == spec.resolvedYAML.split(separator: "\n").dropFirst())
            #expect(spec.resolvedYAML.contains("\n  layers:\n    - conv2d: {filters: 64, kernel_size: 3, strides: 1, padding: "))
        }
        let bn = try ExperimentSpec.load(path: Self.experiments + "/beyond/case7-batchnorm.yaml")
        #expect(bn.plan.stateShapes.count == 6)
        let dropout = try ExperimentSpec.load(path: Self.experiments + "/beyond/case7-dropout.yaml")
        #expect(dropout.plan.layers.filter { $0.configuration.typeName == "dropout" }.map(\.name) == ["dropout1", "dropout2"])
    }

    @Test("bad layer entries: one line naming the file, the line and the layer's index")
    func badLayers() throws {
        func check(_ entries: String, index: Int, line: Int, _ fragments: String...) {
            let e = loadError(Self.head + entries + Self.tail)
            #expect(e?.key == "model.layers[\(index)]", "\(String(describing: e))")
            #expect(e?.line == line, "\(String(describing: e))")
            #expect(e?.file.hasSuffix("test.yaml") == true)
            for f in fragments { #expect(e?.description.contains(f) == true, "\(String(describing: e)) lacks \(f)") }
            #expect(e.map { !$0.description.contains("\n") } == true)
        }
        check("    - conv2d: {filters: 8, kernel_size: 3}\n    - convolution: {filters: 8}\n", index: 1, line: 6,
              "unknown layer type \"convolution\"", "conv2d, max_pool2d")
        check("    - conv2d: {filters: 8, kernel_size: 3, stride: 2}\n", index: 0, line: 5, "unknown setting", "strides")
        check("    - conv2d: {filters: 8, kernel_size: 3}\n    - dropout: {rate: 1}\n", index: 1, line: 6, "rate", "below 1")
        check("    - dropout: {rate: -0.1}\n", index: 0, line: 5, "rate")
        check("    - conv2d: {kernel_size: 3}\n", index: 0, line: 5, "filters: missing")
        check("    - conv2d: {filters: 8, kernel_size: 9}\n    - max_pool2d: {pool_size: 4}\n    - conv2d: {filters: 8, kernel_size: 9}\n",
              index: 2, line: 7, "shrinks the image to nothing")
        check("    - dense: {units: 10}\n", index: 0, line: 5, "flat input", "flatten")
        check("    - conv2d: {filters: 8, kernel_size: 3}\n    - max_pool2d: 2\n", index: 1, line: 6, "expected a map of settings")
        check("    - conv2d: {filters: 8, kernel_size: 3}\n    - [dense]\n", index: 1, line: 6, "one-key map")
        // The last layer's units are the classes.
        let classes = loadError(Self.head + "    - flatten: {}\n    - dense: {units: 12, activation: softmax}\n")
        #expect(classes?.key == "model.layers[1]" && classes?.line == 6 && classes?.problem.contains("10 units") == true)
        let noSoftmax = loadError(Self.head + "    - flatten: {}\n    - dense: {units: 10}\n")
        #expect(noSoftmax?.key == "model.layers[1]" && noSoftmax?.problem.contains("softmax") == true)
        #expect(loadError(Self.head + "    - conv2d: {filters: 8, kernel_size: 3}\n" + Self.tail) == nil)
    }

    @Test("model.layers replaces an inherited shorthand; both in one file, or a shorthand key over a base's layers, is an error")
    func shorthandOrLayers() throws {
        let both = loadError(Self.head + Self.tail + "  dense_units: [10]\n")
        #expect(both?.key == "model.dense_units" && both?.problem.contains("model.layers replaces") == true)
        let base = write(Self.head + Self.tail)
        let over = base.replacingOccurrences(of: "test.yaml", with: "over.yaml")
        FileManager.default.createFile(atPath: over, contents: Data("extends: test.yaml\nname: u\nmodel:\n  dense_units: [10]\n".utf8))
        do {
            _ = try ExperimentSpec.load(path: over)
            Issue.record("a shorthand key over a base's layers loaded")
        } catch let e as SpecError {
            #expect(e.key == "model.dense_units" && e.line == 4 && e.problem.contains("base spec gives model.layers"))
        }
        // --set does the same as a file laid over the spec.
        let spec = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml",
                                           overrides: ["model.layers=[{flatten: {}}, {dense: {units: 10, activation: softmax}}]",
                                                       "regularization.l2_layers=[]"])
        #expect(spec.plan.layers.map(\.name) == ["flatten", "dense1"] && spec.architecture.paper == nil)
        #expect(!spec.resolvedYAML.contains("conv_filters"))
        #expect(throws: SpecError.self) { try ExperimentSpec.load(path: base, overrides: ["model.kernel_size=5"]) }
    }

    @Test("L2 by layer name or by a layer's own setting, not both; names must be layers with weights")
    func l2() throws {
        let own = try ExperimentSpec.load(path: write(Self.head + "    - conv2d: {filters: 8, kernel_size: 3, l2: 0.5}\n" + Self.tail))
        #expect(own.plan.layers.map(\.l2) == [0.5, nil, nil])
        let named = try ExperimentSpec.load(path: write(Self.head + "    - conv2d: {filters: 8, kernel_size: 3}\n" + Self.tail
                                                        + "regularization:\n  l2_layers: [dense1]\n"))
        #expect(named.plan.layers.map(\.l2) == [nil, nil, 0.01])
        let e = loadError(Self.head + Self.tail + "regularization:\n  l2_layers: [conv1]\n")
        #expect(e?.key == "regularization.l2_layers" && e?.problem.contains("\"conv1\" is not a layer with weights") == true)
    }

    @Test("optimizer.name picks Keras's SGD or RMSprop; a setting the named optimizer lacks is refused")
    func optimizers() throws {
        let sgd = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml",
                                          overrides: ["optimizer.name=sgd", "optimizer.learning_rate=0.01", "optimizer.momentum=0.9",
                                                      "optimizer.nesterov=true"])
        #expect(sgd.optimizer == .sgd(SGD.Settings(learningRate: 0.01, momentum: 0.9, nesterov: true)))
        #expect(sgd.resolvedYAML.contains("  name: sgd\n") && sgd.resolvedYAML.contains("  nesterov: true\n"))
        let rms = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml", overrides: ["optimizer.name=rmsprop", "optimizer.rho=0.8"])
        #expect(rms.optimizer == .rmsprop(RMSprop.Settings(learningRate: 1e-3, rho: 0.8, epsilon: 1e-7)))
        let adam = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml")
        #expect(!adam.resolvedYAML.contains("name: adam") && !adam.resolvedYAML.contains("momentum"))
        let e = loadError("extends: base.yaml\nname: t\noptimizer:\n  momentum: 0.9\n")
        #expect(e?.key == "optimizer.momentum" && e?.line == 4 && e?.problem.contains("not adam") == true)
        let e2 = loadError("extends: base.yaml\nname: t\noptimizer:\n  name: rmsprop\n  nesterov: true\n")
        #expect(e2?.key == "optimizer.nesterov" && e2?.problem.contains("sgd") == true)
        let e3 = loadError("extends: base.yaml\nname: t\noptimizer:\n  name: adagrad\n")
        #expect(e3?.key == "optimizer.name" && e3?.problem.contains("adam, sgd, rmsprop") == true)
    }

    @Test("the case specs' resolved specs are those their committed runs recorded")
    func committedRunsUnchanged() throws {
        let runs = TestPaths.root + "/results/runs"
        var compared = 0
        for c in 1...8 {
            let spec = try ExperimentSpec.load(path: Self.experiments + "/case\(c).yaml")
            for seed in 0..<3 {
                let plan = RunPlan(spec: spec, seed: seed, resultsDirectory: TestPaths.root + "/results")
                guard let saved = try? String(contentsOfFile: plan.specPath, encoding: .utf8) else { continue }
                #expect(RunPlan.sameRun(saved, plan.resolvedYAML), "case \(c) seed \(seed): the resolved spec changed")
                #expect(plan.isFinished, "case \(c) seed \(seed) no longer counts as finished")
                compared += 1
            }
        }
        #expect(compared >= 8, "only \(compared) committed runs found under \(runs)")
    }
}
