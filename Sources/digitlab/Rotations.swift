import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct Rotations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure saved models on the test set turned by fixed angles, and what upside-down 6s and 9s are read as.",
        discussion: """
            For each model: the test accuracy at each angle (the test images turned as Keras's \\
            rotation augmentation turns them), and, at 180 degrees, how many of the test set's 6s \\
            are read as 9 or 6 and its 9s as 6 or 9. Writes OUT/rotations.csv (a row per model) \\
            and OUT/rotations.md (a row per rotation range, the mean over its seeds), the range and \\
            seed read from each model's metadata.

            Examples:
              digitlab rotations results/models/case7.safetensors
              digitlab rotations results/runs/case7-rotation+rotation_range=*/seed-*/model.safetensors
            """)

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Directory holding the four MNIST IDX files (.gz or plain).",
        discussion: "Default: $DIGITLAB_DATA, else data/mnist.", valueName: "dir"))
    var directory: String?

    @Option(help: ArgumentHelp("Angles in degrees, comma-separated.", valueName: "list"))
    var angles: String = RotationStudy.defaultAngles.map { String(Int($0)) }.joined(separator: ",")

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String = "results/photos"

    @Argument(help: ArgumentHelp("Saved models (.safetensors).", valueName: "model"))
    var models: [String]

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("name at least one model") }
        guard parsedAngles() != nil else { throw ValidationError("--angles: expected numbers from -360 to 360, comma-separated, got \"\(angles)\"") }
    }

    func parsedAngles() -> [Double]? {
        let values = angles.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && abs($0!) <= 360 }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        do {
            EngineThreads.count = ProcessInfo.processInfo.activeProcessorCount
            let data = try Dataset.load(.mnist, directory: Dataset.resolveDirectory(directory, files: .mnist))
            var study = RotationStudy(angles: parsedAngles()!)
            // A model takes a minute or more on a busy machine: say where it stands before each
            // one and after it, with an ETA, and write at once (say), so a piped log shows it too.
            let started = Date()
            for (n, model) in models.enumerated() {
                say("[\(n + 1)/\(models.count)] \(model): \(study.angles.count) angles x \(data.test.count) test images...")
                let reader = try DigitReader(modelPath: model, capacity: Model.inferenceCapacity)
                try study.measure(reader, test: data.test)
                let row = study.rows.last!
                let elapsed = Date().timeIntervalSince(started)
                let eta = elapsed / Double(n + 1) * Double(models.count - n - 1)
                say("[\(n + 1)/\(models.count)] " + zip(study.angles, row.accuracy)
                    .map { "\(Int($0.0))° \(fixed(100 * $0.1, 2))%" }.joined(separator: ", ")
                    + "  (\(formatDuration(elapsed)) so far, ETA \(formatDuration(eta)))")
            }
            try AtomicFile.write(study.csv.text, to: out + "/rotations.csv")
            try AtomicFile.write(study.markdown, to: out + "/rotations.md")
            print(study.markdown, terminator: "")
            print("wrote \(out)/rotations.csv and \(out)/rotations.md")
        } catch {
            fail(error)
        }
    }
}
