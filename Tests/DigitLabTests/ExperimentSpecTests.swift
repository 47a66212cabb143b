import DigitLabTestSupport
import DigitLab
import DigitLabEngine
import Foundation
import Testing

@Suite("Experiment specs")
struct ExperimentSpecTests {
    static let experiments = TestPaths.root + "/experiments"

    /// Writes a spec beside a copy of base.yaml and returns the error loading it gives.
    func loadError(_ yaml: String, overrides: [String] = []) -> SpecError? {
        let dir = TestPaths.temporaryDirectory("spec")
        try? FileManager.default.copyItem(atPath: Self.experiments + "/base.yaml", toPath: dir + "/base.yaml")
        let path = dir + "/test.yaml"
        FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
        do {
            _ = try ExperimentSpec.load(path: path, overrides: overrides)
            return nil
        } catch let e as SpecError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("the eight cases set the paper's knobs")
    func paperCases() throws {
        let specs = try Reproduction.caseSpecs(experimentsDirectory: Self.experiments)
        #expect(specs.map(\.paperCase) == [1, 2, 3, 4, 5, 6, 7, 8])
        for s in specs {
            let c = s.paperCase!
            #expect(s.architecture.paper?.denseUnits.count == (c % 2 == 1 ? 3 : 4), "case \(c) dense depth")
            #expect(s.l2Layers == ([3, 4, 7, 8].contains(c) ? ["conv1"] : []), "case \(c) L2")
            #expect(s.augmentation.rotationRange == (c >= 5 ? 10 : 0), "case \(c) rotation")
            #expect(s.validationSplit == (c >= 5 ? 0 : 0.1), "case \(c) validation")
            #expect(s.architecture.paper?.convFilters == [64, 64, 64] && s.batchSize == 32 && s.epochs == 20)
            #expect(s.optimizer == .adam(Adam.Settings(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        }
    }

    @Test("a misspelt key names the file, line and key, and suggests the right one")
    func misspeltKey() throws {
        let e = try #require(loadError("extends: base.yaml\nname: t\ntraining:\n  epoch: 3\n"))
        #expect(e.key == "training.epoch")
        #expect(e.line == 4)
        #expect(e.description.contains("test.yaml:4") && e.description.contains("did you mean training.epochs"))
    }

    @Test("wrong types and out-of-range values say what was expected")
    func wrongValues() throws {
        let e1 = try #require(loadError("extends: base.yaml\nname: t\ntraining:\n  batch_size: many\n"))
        #expect(e1.key == "training.batch_size" && e1.problem.contains("integer"))
        let e2 = try #require(loadError("extends: base.yaml\nname: t\noptimizer:\n  learning_rate: 0\n"))
        #expect(e2.key == "optimizer.learning_rate" && e2.problem.contains("above 0"))
        let e3 = try #require(loadError("extends: base.yaml\nname: t\nregularization:\n  l2_layers: [conv9]\n"))
        #expect(e3.key == "regularization.l2_layers" && e3.problem.contains("conv9"))
        let e4 = try #require(loadError("extends: base.yaml\nname: t\nmodel:\n  dense_units: [64, 12]\n"))
        #expect(e4.problem.contains("10 units"))
        let e5 = try #require(loadError("extends: base.yaml\nname: t\nmodel: 3\n"))
        #expect(e5.key == "model" && e5.problem.contains("map"))
        let e6 = try #require(loadError("name: t\n"))
        #expect(e6.problem.contains("missing"))
        let e7 = try #require(loadError("extends: base.yaml\nname: t\ntraining: [1\n"))
        #expect(e7.problem.contains("YAML"))
    }

    @Test("--set overrides are validated like the file and recorded in the resolved spec")
    func overrides() throws {
        let spec = try ExperimentSpec.load(path: Self.experiments + "/case1.yaml", overrides: ["optimizer.learning_rate=5e-4", "model.dense_units=[32, 10]"])
        #expect(spec.optimizer.learningRate == 5e-4)
        #expect(spec.architecture.paper?.denseUnits == [32, 10])
        #expect(spec.resolvedYAML.contains("learning_rate: 5e-4"))
        #expect(loadError("extends: base.yaml\nname: t\n", overrides: ["optimizer.learningrate=1"])?.problem.contains("did you mean optimizer.learning_rate") == true)
        #expect(loadError("extends: base.yaml\nname: t\n", overrides: ["training.epochs=-1"])?.key == "training.epochs")
    }

    @Test("the resolved spec loads back to the same settings")
    func resolvedRoundTrip() throws {
        let spec = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml")
        let dir = TestPaths.temporaryDirectory("spec")
        let path = dir + "/resolved.yaml"
        try spec.resolvedYAML.write(toFile: path, atomically: true, encoding: .utf8)
        let again = try ExperimentSpec.load(path: path)
        #expect(again.trainingConfig() == spec.trainingConfig())
        #expect(again.resolvedYAML.split(separator: "\n").dropFirst() == spec.resolvedYAML.split(separator: "\n").dropFirst())
    }
}
