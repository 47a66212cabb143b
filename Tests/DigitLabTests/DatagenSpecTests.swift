import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// The ImageDataGenerator options as spec keys: defaults, the two specs beyond the paper, and
/// strict errors for misspelt or ill-typed keys.
@Suite("ImageDataGenerator spec keys")
struct DatagenSpecTests {
    static let experiments = TestPaths.root + "/experiments"
    static let newKeys = ["featurewise_center", "featurewise_std_normalization", "samplewise_center",
                          "samplewise_std_normalization", "zca_whitening", "zca_epsilon", "horizontal_flip", "vertical_flip"]

    /// Loads `yaml` written beside a copy of base.yaml; returns the spec or the error.
    func load(_ yaml: String, overrides: [String] = []) -> Result<ExperimentSpec, SpecError> {
        let dir = TestPaths.temporaryDirectory("datagen-spec")
        try? FileManager.default.copyItem(atPath: Self.experiments + "/base.yaml", toPath: dir + "/base.yaml")
        let path = dir + "/test.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(("extends: base.yaml\nname: t\n" + yaml).utf8))
        do {
            return .success(try ExperimentSpec.load(path: path, overrides: overrides))
        } catch let e as SpecError {
            return .failure(e)
        } catch {
            return .failure(SpecError(file: path, key: "", problem: "unexpected \(error)"))
        }
    }

    func error(_ yaml: String, overrides: [String] = []) -> SpecError? {
        if case let .failure(e) = load(yaml, overrides: overrides) { return e }
        return nil
    }

    @Test("the paper's cases leave every option off, and their resolved specs do not mention them")
    func paperCasesOff() throws {
        let base = try String(contentsOfFile: Self.experiments + "/base.yaml", encoding: .utf8)
        for key in Self.newKeys { #expect(base.contains("\n  \(key): "), "base.yaml does not list \(key)") }
        for spec in try Reproduction.caseSpecs(experimentsDirectory: Self.experiments) {
            #expect(spec.standardization == Standardization())
            #expect(!spec.augmentation.horizontalFlip && !spec.augmentation.verticalFlip)
            #expect(spec.trainingConfig().standardization == Standardization())
            // Resolved specs written before these keys existed must still match (runs stay finished).
            for key in Self.newKeys { #expect(!spec.resolvedYAML.contains(key), "\(spec.name)'s resolved spec mentions \(key)") }
        }
    }

    @Test("zca.yaml is case 1 with featurewise centring and ZCA; shifts.yaml is case 7 with 10% shifts")
    func beyondThePaper() throws {
        let zca = try ExperimentSpec.load(path: Self.experiments + "/zca.yaml")
        let case1 = try ExperimentSpec.load(path: Self.experiments + "/case1.yaml")
        #expect(zca.name == "zca" && zca.paperCase == nil)
        #expect(zca.standardization == Standardization(featurewiseCenter: true, zcaWhitening: true, zcaEpsilon: 1e-6))
        var expected = case1.trainingConfig()
        expected.standardization = zca.standardization
        #expect(zca.trainingConfig() == expected)
        #expect(zca.resolvedYAML.contains("  zca_whitening: true\n") && !zca.resolvedYAML.contains("paper_case"))

        let shifts = try ExperimentSpec.load(path: Self.experiments + "/shifts.yaml")
        let case7 = try ExperimentSpec.load(path: Self.experiments + "/case7.yaml")
        #expect(shifts.name == "shifts" && shifts.paperCase == nil)
        var expected7 = case7.trainingConfig()
        expected7.augmentation.widthShiftRange = 0.1
        expected7.augmentation.heightShiftRange = 0.1
        #expect(shifts.trainingConfig() == expected7)
        // Neither is picked up as one of the paper's cases.
        #expect(try Reproduction.caseSpecs(experimentsDirectory: Self.experiments).allSatisfy { $0.name.hasPrefix("case") })
    }

    @Test("the keys are read with Keras's meaning, and the resolved spec loads back the same")
    func readsAndRoundTrips() throws {
        let spec = try load("""
            preprocessing:
              samplewise_center: True
              samplewise_std_normalization: true
              featurewise_std_normalization: true
              zca_epsilon: 0.01
            augmentation:
              horizontal_flip: true
              vertical_flip: false
            """).get()
        #expect(spec.standardization == Standardization(featurewiseStdNormalization: true, samplewiseCenter: true,
                                                        samplewiseStdNormalization: true, zcaEpsilon: 0.01))
        #expect(spec.augmentation.horizontalFlip && !spec.augmentation.verticalFlip)
        let path = TestPaths.temporaryDirectory("datagen-spec") + "/resolved.yaml"
        try spec.resolvedYAML.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ExperimentSpec.load(path: path).trainingConfig() == spec.trainingConfig())
        let set = try ExperimentSpec.load(path: Self.experiments + "/case1.yaml",
                                          overrides: ["augmentation.vertical_flip=true", "preprocessing.zca_whitening=true"])
        #expect(set.augmentation.verticalFlip && set.standardization.zcaWhitening)
        #expect(set.resolvedYAML.contains("  vertical_flip: true\n"))
    }

    @Test("a misspelt new key is unknown, with a suggestion")
    func misspelt() throws {
        let e1 = try #require(error("preprocessing:\n  zca_whitenning: true\n"))
        #expect(e1.key == "preprocessing.zca_whitenning" && e1.line == 4)
        #expect(e1.problem.contains("did you mean preprocessing.zca_whitening"))
        let e2 = try #require(error("augmentation:\n  horizontal_flips: true\n"))
        #expect(e2.problem.contains("did you mean augmentation.horizontal_flip"))
        let e3 = try #require(error("", overrides: ["preprocessing.featurewise_centre=true"]))
        #expect(e3.problem.contains("did you mean preprocessing.featurewise_center"))
    }

    @Test("an ill-typed or out-of-range new key says what was expected")
    func illTyped() throws {
        let e1 = try #require(error("augmentation:\n  horizontal_flip: yes\n"))
        #expect(e1.key == "augmentation.horizontal_flip" && e1.problem.contains("true or false") && e1.line == 4)
        let e2 = try #require(error("preprocessing:\n  featurewise_center: 1\n"))
        #expect(e2.key == "preprocessing.featurewise_center" && e2.problem.contains("true or false"))
        let e3 = try #require(error("preprocessing:\n  zca_epsilon: 0\n"))
        #expect(e3.key == "preprocessing.zca_epsilon" && e3.problem.contains("above 0"))
        let e4 = try #require(error("augmentation:\n  vertical_flip: [true]\n"))
        #expect(e4.key == "augmentation.vertical_flip")
        let e5 = try #require(error("", overrides: ["preprocessing.samplewise_center=maybe"]))
        #expect(e5.key == "preprocessing.samplewise_center" && e5.problem.contains("true or false"))
    }

    @Test("zca_whitening with featurewise_std_normalization is refused: Keras would silently drop the latter")
    func zcaWithStd() throws {
        let e = try #require(error("preprocessing:\n  zca_whitening: true\n  featurewise_std_normalization: true\n"))
        #expect(e.key == "preprocessing.zca_whitening" && e.problem.contains("featurewise_std_normalization"))
    }
}
