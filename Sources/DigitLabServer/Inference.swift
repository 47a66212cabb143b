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

/// Everything that runs the engine: the forward passes that read digits, and evaluating models on
/// the test set. The engine's thread pool and a model's buffers serve one computation at a time,
/// so all of it goes through this one actor; preparing an upload for the model (decoding it and
/// each pipeline's steps, `Inference.prepare`) needs no model and runs beside it, on the
/// request's own task, so that only the forward passes wait for one another. Models are loaded
/// once and kept.
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

    /// The normalization `model` was trained with, which the mnist pipeline applies (loads the model).
    func normalization(of model: SavedModel) throws -> Normalization {
        try reader(model).normalization
    }

    /// The model's class probabilities for each prepared 28 x 28 input, one forward pass each.
    func probabilities(_ inputs: [[Float]], model: SavedModel) throws -> [[Float]] {
        try reader(model).probabilities(inputs)
    }

    /// One pipeline's preparation of an upload: the model's input, or why the pipeline found no digit.
    typealias Prepared = (pipeline: DigitPipeline, result: Result<PreparedDigit, MNISTPipeline.Failure>)

    /// Both pipelines' preparations of an image (mnist, then paper), each from the image as its
    /// reader decodes it. Throws `DataError` when the bytes are no image the decoders take.
    nonisolated static func prepare(bytes: [UInt8], name: String, normalization: Normalization) throws -> [Prepared] {
        try [DigitPipeline.mnist, .paper].map { pipeline in
            let image = pipeline == .paper ? try ImageFile.decodeGreyAsOpenCV(bytes, name: name)
                                           : try ImageFile.decode(bytes, name: name)
            do {
                return (pipeline, .success(try pipeline.prepare(image, normalization: normalization)))
            } catch let failure as MNISTPipeline.Failure {
                return (pipeline, .failure(failure))
            }
        }
    }

    /// Both pipelines' readings of an image: prepared beside the actor, then read by the model.
    nonisolated func predict(bytes: [UInt8], name: String, model: SavedModel) async throws -> PredictResponse {
        let prepared = try Inference.prepare(bytes: bytes, name: name, normalization: try await normalization(of: model))
        // Both inputs in one visit to the actor; the model reads them one at a time, as before.
        var probabilities = try await probabilities(prepared.compactMap { try? $0.result.get().input }, model: model)[...]
        var readings: [PipelineReading] = []
        for (pipeline, result) in prepared {
            switch result {
            case .success(let digit):
                let p = probabilities.removeFirst()
                let prediction = DigitPrediction(file: name, probabilities: p, pipeline: pipeline, prepared: digit)
                readings.append(PipelineReading(pipeline: pipeline.rawValue, digit: prediction.digit,
                                                probabilities: prediction.probabilities, input: digit.preview.pixels,
                                                ink: prediction.ink, thickened: prediction.thickened))
            case .failure(let failure):
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
