import ArgumentParser
import DigitLab
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the digit in each photograph (PNG, JPEG, PGM or PPM; colour or grey).",
        discussion: """
            Prints, per image, the file, the digit, its probability and the runner-up. A file that \
            cannot be read gets a one-line error on standard error and the others are still read; \
            the exit status is 1 if any failed.

            Pipelines: `mnist` (default) finds the ink robustly, crops it, brings thin strokes to \
            MNIST's width, fits it in 20x20 and centres it by centre of mass in 28x28, as MNIST was \
            made; `paper` runs the paper's annexure exactly (threshold at the mean grey level, \
            invert if mostly white, shrink to 28x28, normalize each row).

            Examples:
              digitlab predict photo.jpg
              digitlab predict --json --save-preprocessed seen/ photos/*.png
              digitlab predict --pipeline paper --model results/runs/case7/seed-0/model.safetensors photo.jpg
            """)

    @Option(help: ArgumentHelp("The saved model (.safetensors).", valueName: "file"))
    var model: String = DigitReader.defaultModelPath

    @Option(help: ArgumentHelp("Preprocessing: mnist or paper.", valueName: "name"))
    var pipeline: String = DigitPipeline.mnist.rawValue

    @Flag(help: "Print one JSON array of objects (file, digit, probability, runner_up, ...).")
    var json = false

    @Option(name: .customLong("save-preprocessed"), help: ArgumentHelp(
        "Write the 28x28 input the model saw for each image to this directory, as PNG.",
        discussion: "The input after normalization, scaled so that its largest value is white.", valueName: "dir"))
    var savePreprocessed: String?

    @Argument(help: ArgumentHelp("Images to read.", valueName: "image"))
    var images: [String]

    func validate() throws {
        guard DigitPipeline(rawValue: pipeline) != nil else {
            throw ValidationError("unknown pipeline \"\(pipeline)\"; use mnist or paper")
        }
        guard !images.isEmpty else { throw ValidationError("name at least one image") }
    }

    func run() throws {
        let pipeline = DigitPipeline(rawValue: self.pipeline)!
        let reader: DigitReader
        do { reader = try DigitReader(modelPath: model) } catch { fail(error) }
        var predictions: [DigitPrediction] = []
        var failures = 0
        var savedNames = Set<String>()
        for path in images {
            do {
                let image = try pipeline.read(path: path)
                let prepared: PreparedDigit
                do { prepared = try pipeline.prepare(image, normalization: reader.normalization) } catch let e as MNISTPipeline.Failure {
                    throw DataError(path, e.description)
                }
                if let directory = savePreprocessed {
                    var name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                    if savedNames.contains(name) { var k = 2; while savedNames.contains("\(name)-\(k)") { k += 1 }; name += "-\(k)" }
                    savedNames.insert(name)
                    try ImageFile.write(prepared.preview, to: directory + "/" + name + ".png")
                }
                let p = reader.probabilities([prepared.input])[0]
                let prediction = DigitPrediction(file: path, probabilities: p, pipeline: pipeline, prepared: prepared)
                if json { predictions.append(prediction) } else { print(prediction.line) }
            } catch {
                failures += 1
                let message = (error as? DataError)?.description ?? "\(path): \(error)"
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(predictions), as: UTF8.self))
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
