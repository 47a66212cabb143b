import DigitLab
import DigitLabTestSupport
import Foundation
import Testing

/// `digitlab predict`, `evaluate` and `make-photos` as a user runs them.
@Suite("Predict and evaluate commands", .engineThreads)
struct PredictTests {
    @Test("predict: a line per image, JSON on request, preprocessed inputs saved, failures named and counted")
    func predict() throws {
        let shared = try PhotoFixtures.get()
        let dir = TestPaths.temporaryDirectory("predict")
        let made = try runTool(["make-photos", "--count", "4", "--out", dir, "--data", TestPaths.mnist])
        #expect(made.status == 0, "\(made.stderr)")
        let photos = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("photo-") }.sorted().map { dir + "/" + $0 }
        #expect(photos.count == 4)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/broken.png"))

        let text = try runTool(["predict", "--model", shared.modelPath] + photos + [dir + "/broken.png", dir + "/missing.jpg"])
        #expect(text.status == 1)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 4 && lines.allSatisfy { $0.contains("runner-up") }, "\(text.stdout)")
        let errors = text.stderr.split(separator: "\n")
        #expect(errors.count == 2 && errors[0].contains("broken.png") && errors[1].contains("missing.jpg"), "\(text.stderr)")

        let seen = dir + "/seen"
        let json = try runTool(["predict", "--json", "--pipeline", "paper", "--model", shared.modelPath,
                                "--save-preprocessed", seen] + photos)
        #expect(json.status == 0, "\(json.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 4)
        for object in array {
            #expect(object["file"] is String && object["digit"] is Int && object["probability"] is Double)
            #expect(object["runner_up"] is Int && object["pipeline"] as? String == "paper")
        }
        let saved = try FileManager.default.contentsOfDirectory(atPath: seen).sorted()
        #expect(saved.count == 4 && saved.allSatisfy { $0.hasSuffix(".png") })
        let first = try ImageFile.read(path: seen + "/" + saved[0])
        #expect(first.width == 28 && first.height == 28)
    }

    @Test("predict and evaluate without a model name the file and say how to train one")
    func missingModel() throws {
        let dir = TestPaths.temporaryDirectory("predict")
        for command in [["predict", "x.png"], ["evaluate", "--data", TestPaths.mnist]] {
            let r = try runTool(command, in: dir)
            #expect(r.status != 0)
            #expect(r.stderr.contains("results/models/case7.safetensors") && r.stderr.contains("digitlab run"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("evaluate writes its report and agrees with the accuracy the training run recorded")
    func evaluate() throws {
        let shared = try PhotoFixtures.get()
        let out = TestPaths.temporaryDirectory("evaluate")
        let r = try runTool(["evaluate", "--model", shared.modelPath, "--data", TestPaths.mnist, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("test accuracy") && r.stdout.contains(": the same"), "\(r.stdout)")
        for file in ["evaluation.csv", "confusion.csv", "confusion.svg", "misclassified.csv", "misclassified.svg"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
    }
}
