import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a saved model on the MNIST test set: accuracy, loss, confusion matrix, misclassified digits.",
        discussion: """
            Writes evaluation.csv, confusion.csv, confusion.svg (a heat map), misclassified.csv and \
            misclassified.svg (the misclassified digits with their true and predicted labels) to \
            --out, by default results/evaluate/MODEL-NAME/ (MODEL-NAME-rotate-D/ with --rotate D).

            Examples:
              digitlab evaluate
              digitlab evaluate --model results/runs/case3/seed-0/model.safetensors --data ../shared/data/mnist
              digitlab evaluate --rotate 30
            """)

    @Option(help: ArgumentHelp("The saved model (.safetensors).", valueName: "file"))
    var model: String = DigitReader.defaultModelPath

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Directory holding the four MNIST IDX files (.gz or plain).",
        discussion: "Default: $DIGITLAB_DATA, else data/mnist.", valueName: "dir"))
    var directory: String?

    @Option(help: ArgumentHelp("Output directory.", discussion: "Default: results/evaluate/MODEL-NAME.", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Turn every test image by this many degrees first (as Keras's rotation augmentation turns them).",
                               valueName: "degrees"))
    var rotate: Double = 0

    func validate() throws {
        guard rotate.isFinite && abs(rotate) <= 360 else { throw ValidationError("--rotate takes degrees from -360 to 360") }
    }

    func run() throws {
        do {
            useEngineThreads()
            let reader = try DigitReader(modelPath: model, capacity: Model.inferenceCapacity)
            let name = reader.metadata["dataset"] ?? "mnist"
            guard let files = DatasetFiles.named(name) else {
                throw DataError(model, "the model was trained on \"\(name)\", which evaluate does not know")
            }
            let data = try Dataset.load(files, directory: Dataset.resolveDirectory(directory, files: files))
            let evaluation = ModelEvaluation(reader: reader, test: data.test.rotated(by: rotate))
            let suffix = rotate == 0 ? "" : "-rotate-" + (rotate == rotate.rounded() ? String(Int(rotate)) : String(rotate))
            let output = out ?? "results/evaluate/" + ModelEvaluation.name(ofModel: model) + suffix
            if rotate != 0 { print("the test set turned by \(rotate) degrees") }
            let paths = try evaluation.write(to: output)
            print(evaluation.summary)
            print("wrote " + paths.joined(separator: ", "))
        } catch {
            fail(error)
        }
    }
}
