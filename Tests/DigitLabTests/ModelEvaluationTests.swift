import DigitLab
import DigitLabTestSupport
import Foundation
import Testing

@Suite("Model evaluation", .engineThreads)
struct ModelEvaluationTests {
    @Test("accuracy, confusion matrix and gallery agree with each other and with the training run")
    func evaluation() throws {
        let shared = try PhotoFixtures.get()
        let reader = try DigitReader(modelPath: shared.modelPath, capacity: 100)
        let evaluation = ModelEvaluation(reader: reader, test: shared.data.test)
        #expect(evaluation.count == 10_000)
        #expect(evaluation.confusion.correct == 10_000 - evaluation.gallery.entries.count)
        #expect(abs(Double(evaluation.confusion.correct) / 10_000 - evaluation.accuracy) < 1e-12)
        // The fixture's model measured 92.04% and a loss of 0.264 here: floors three points under,
        // with room for another CPU's rounding, not the 90% any half-trained model passes.
        #expect(evaluation.accuracy > 0.89 && evaluation.loss < 0.35, "accuracy \(evaluation.accuracy), loss \(evaluation.loss)")
        // The fixture recorded the trainer's own test accuracy: loading the saved weights gives the same.
        #expect(abs(evaluation.reportedAccuracy! - 100 * evaluation.accuracy) < 0.001)
        #expect(evaluation.summary.contains(": the same"))
        for e in evaluation.gallery.entries.prefix(20) { #expect(e.label != e.predicted) }
        let dir = TestPaths.temporaryDirectory("evaluate")
        let paths = try evaluation.write(to: dir)
        #expect(paths.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["evaluation.csv", "confusion.csv", "confusion.svg", "misclassified.csv", "misclassified.svg"])
        #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    @Test("models are named by file, or by run for a run's model.safetensors")
    func names() {
        #expect(ModelEvaluation.name(ofModel: "results/models/case7.safetensors") == "case7")
        #expect(ModelEvaluation.name(ofModel: "results/runs/case3/seed-1/model.safetensors") == "case3-seed-1")
    }

    @Test("a missing model says how to train one")
    func missingModel() {
        let error = #expect(throws: DataError.self) { try DigitReader(modelPath: "/nonexistent/case7.safetensors") }
        #expect(error?.problem.contains("digitlab run experiments/case7.yaml") == true)
    }
}
