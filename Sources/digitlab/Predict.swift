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

            --number reads a number of several digits per photograph (mnist pipeline): every digit \
            in reading order, pieces of a broken stroke joined, dots ignored, touching digits cut \
            where the model is most sure; it prints the number and each digit's probability.

            Examples:
              digitlab predict photo.jpg
              digitlab predict --json --save-preprocessed seen/ photos/*.png
              digitlab predict --pipeline paper --model results/runs/case7/seed-0/model.safetensors photo.jpg
              digitlab predict --number --json number.jpg
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

    @Flag(help: "Read a number of several digits in each photograph, left to right (mnist pipeline).")
    var number = false

    @Option(help: ArgumentHelp(
        "With --number: make-photos --number's labels.csv; each number read is checked against its label.",
        discussion: "Prints how many were read right, apart for photographs with touching digits.", valueName: "file"))
    var labels: String?

    @Option(help: ArgumentHelp("With --labels: write a row per photograph (file, label, touching_pairs, read, correct) to this CSV file.",
                               valueName: "file"))
    var csv: String?

    @Argument(help: ArgumentHelp("Images to read.", valueName: "image"))
    var images: [String]

    func validate() throws {
        guard DigitPipeline(rawValue: pipeline) != nil else {
            throw ValidationError("unknown pipeline \"\(pipeline)\"; use mnist or paper")
        }
        guard !images.isEmpty else { throw ValidationError("name at least one image") }
        if number && pipeline != DigitPipeline.mnist.rawValue { throw ValidationError("--number reads with the mnist pipeline only") }
        if number && savePreprocessed != nil { throw ValidationError("--save-preprocessed saves single digits; drop it with --number") }
        if !number && labels != nil { throw ValidationError("--labels scores numbers; add --number") }
        if csv != nil && labels == nil { throw ValidationError("--csv writes the scores of --labels; add --labels FILE") }
    }

    func run() throws {
        let pipeline = DigitPipeline(rawValue: self.pipeline)!
        let reader: DigitReader
        do { reader = try DigitReader(modelPath: model) } catch { fail(error) }
        if number { return try readNumbers(NumberReader(reader: reader)) }
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

    /// --number: a number per photograph, scored against --labels if given.
    func readNumbers(_ reader: NumberReader) throws {
        let known: [String: (label: String, touchingPairs: Int)]?
        do { known = try labels.map { try NumberScore.labels(path: $0) } } catch { fail(error) }
        var readings: [NumberReading] = []
        var score = NumberScore()
        var failures = 0
        for path in images {
            var read: String?
            do {
                let image = try DigitPipeline.mnist.read(path: path)
                let reading: NumberReading
                do { reading = try reader.read(image, file: path) } catch let e as MNISTPipeline.Failure {
                    throw DataError(path, e.description)
                }
                read = reading.number
                if json { readings.append(reading) } else if known == nil { print(reading.line) }
            } catch {
                failures += 1
                let message = (error as? DataError)?.description ?? "\(path): \(error)"
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            }
            if let known {
                let name = URL(fileURLWithPath: path).lastPathComponent
                guard let truth = known[name] else { fail(DataError(labels!, "has no row for \(name)")) }
                score.add(file: name, label: truth.label, touchingPairs: truth.touchingPairs, read: read)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(readings), as: UTF8.self))
        }
        if known != nil {
            if let csv { do { try AtomicFile.write(score.csv.text, to: csv) } catch { fail(error) } }
            // With --json, standard output holds the JSON alone.
            let line = score.summary + (csv.map { "; wrote \($0)" } ?? "") + "\n"
            if json { FileHandle.standardError.write(Data(line.utf8)) } else { print(line, terminator: "") }
            return
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
