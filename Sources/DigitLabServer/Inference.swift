import DigitLab
import DigitLabEngine
import Foundation

/// One pipeline's reading of an uploaded image, as the try page shows it.
struct PipelineReading: Encodable, Sendable {
    var pipeline: String
    var digit: Int?
    var probabilities: [Double]?
    /// What the model sees: the 28 x 28 input scaled to bytes (`PreparedDigit.preview`), row by row.
    var input: [UInt8]?
    var ink: String?
    var thickened: Bool?
    /// Why this pipeline found no digit.
    var error: String?
}

struct PredictResponse: Encodable, Sendable {
    var model: String
    var readings: [PipelineReading]
}

/// A number read from an uploaded image: the reading `digitlab predict --number --json` prints,
/// and what each digit looked like to the model.
struct NumberResponse: Encodable, Sendable {
    var model: String
    var reading: NumberReading
    /// Each digit's 28 x 28 input (`NumberReading.Digit.input`), in the reading's order.
    var inputs: [[UInt8]]
}

/// Everything that runs the engine: reading digits and evaluating models on the test set. The
/// engine's thread pool and a model's buffers serve one computation at a time, so all of it goes
/// through this one actor. Models are loaded once and kept.
actor Inference {
    private var readers: [String: DigitReader] = [:]
    private let dataDirectory: String?

    init(dataDirectory: String?) {
        self.dataDirectory = dataDirectory
    }

    private func reader(_ model: SavedModel) throws -> DigitReader {
        if let r = readers[model.path] { return r }
        let r = try DigitReader(modelPath: model.path)
        readers[model.path] = r
        return r
    }

    /// Both pipelines' readings of an image already decoded by each pipeline's reader.
    func predict(bytes: [UInt8], name: String, model: SavedModel) throws -> PredictResponse {
        let reader = try reader(model)
        var readings: [PipelineReading] = []
        for pipeline in [DigitPipeline.mnist, .paper] {
            let image = pipeline == .paper ? try ImageFile.decodeGreyAsOpenCV(bytes, name: name)
                                           : try ImageFile.decode(bytes, name: name)
            do {
                let prepared = try pipeline.prepare(image, normalization: reader.normalization)
                let p = reader.probabilities([prepared.input])[0]
                let prediction = DigitPrediction(file: name, probabilities: p, pipeline: pipeline, prepared: prepared)
                readings.append(PipelineReading(pipeline: pipeline.rawValue, digit: prediction.digit,
                                                probabilities: prediction.probabilities, input: prepared.preview.pixels,
                                                ink: prediction.ink, thickened: prediction.thickened))
            } catch let failure as MNISTPipeline.Failure {
                readings.append(PipelineReading(pipeline: pipeline.rawValue, error: failure.description))
            }
        }
        return PredictResponse(model: model.id, readings: readings)
    }

    /// The number in an image, read as `digitlab predict --number` reads it (mnist pipeline). Throws
    /// `MNISTPipeline.Failure` when the image holds no number, `DataError` when it is no image.
    func readNumber(bytes: [UInt8], name: String, model: SavedModel) throws -> NumberResponse {
        let reading = try NumberReader(reader: try reader(model)).read(try ImageFile.decode(bytes, name: name), file: name)
        return NumberResponse(model: model.id, reading: reading, inputs: reading.digits.map(\.input))
    }

    /// Evaluates a model on its dataset's test set and writes what `digitlab evaluate` writes into
    /// `directory` (atomically, file by file).
    func evaluate(model: SavedModel, into directory: String) throws {
        let reader = try DigitReader(modelPath: model.path, capacity: Model.inferenceCapacity)
        let name = reader.metadata["dataset"] ?? "mnist"
        guard let files = DatasetFiles.named(name) else {
            throw DataError(model.path, "the model was trained on \"\(name)\", which evaluate does not know")
        }
        let data = try Dataset.load(files, directory: Dataset.resolveDirectory(dataDirectory, files: files))
        try ModelEvaluation(reader: reader, test: data.test).write(to: directory)
    }
}
