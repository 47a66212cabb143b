import DigitLab
import DigitLabEngine
import Foundation
import Synchronization

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
/// the test set.
///
/// Reading an upload (predict, a number) runs on the request's own task, start to end: decoding,
/// each pipeline's steps, and the forward passes, with a reader borrowed from `readers` and the
/// engine on that thread alone (`EngineThreads.alone`), so requests on the two cores read at once
/// (one actor doing every forward pass was the queue a load of distinct uploads waited in).
/// Evaluating a model on the test set spreads over every engine thread through the shared pool,
/// which serves one region at a time: evaluations go through this actor, one at a time.
actor Inference {
    /// The readers of predict and numbers, loaded once per model file.
    nonisolated let readers = ReaderShelf()
    private let dataDirectory: String?

    init(dataDirectory: String?) {
        self.dataDirectory = dataDirectory
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

    /// Both pipelines' readings of an image, on the caller's thread.
    nonisolated func predict(bytes: [UInt8], name: String, model: SavedModel) throws -> PredictResponse {
        try readers.borrow(model) { reader in
            let prepared = try Inference.prepare(bytes: bytes, name: name, normalization: reader.normalization)
            var probabilities = EngineThreads.alone {
                reader.probabilities(prepared.compactMap { try? $0.result.get().input })
            }[...]
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
    }

    /// The number in an image, read as `digitlab predict --number` reads it (mnist pipeline), on
    /// the caller's thread. Throws `MNISTPipeline.Failure` when the image holds no number,
    /// `DataError` when it is no image.
    nonisolated func readNumber(bytes: [UInt8], name: String, model: SavedModel) throws -> NumberResponse {
        try readers.borrow(model) { reader in
            let image = try ImageFile.decode(bytes, name: name)
            let reading = try EngineThreads.alone { try NumberReader(reader: reader).read(image, file: name) }
            return NumberResponse(model: model.id, reading: reading, inputs: reading.digits.map(\.input))
        }
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

/// Readers of saved models for reading uploads, kept between requests: a request borrows one
/// (`borrow`), runs its passes with it, and puts it back. Each model file is read once, on first
/// use, and every reader of it is made from those bytes, so a model's answers never change while
/// the server runs (the answer cache relies on it), even if the file is replaced. A new reader is
/// made only while all are lent, so there are about as many as requests read at once (one per
/// core: reading holds its thread).
final class ReaderShelf: Sendable {
    private struct Shelf {
        var bytes: [UInt8]
        var idle: [DigitReader]
    }

    // DigitReader is not Sendable: one lives on the shelf or with one borrower, never with two.
    private struct Shelves: @unchecked Sendable {
        var byPath: [String: Shelf] = [:]
    }

    private let shelves = Mutex(Shelves())

    /// Runs `body` with a reader of `model` that no one else uses meanwhile.
    func borrow<Result>(_ model: SavedModel, _ body: (DigitReader) throws -> Result) throws -> Result {
        let reader = try take(model)
        defer { shelves.withLock { $0.byPath[model.path]?.idle.append(reader) } }
        return try body(reader)
    }

    private func take(_ model: SavedModel) throws -> DigitReader {
        let (idle, bytes) = shelves.withLock { ($0.byPath[model.path]?.idle.popLast(), $0.byPath[model.path]?.bytes) }
        if let idle { return idle }
        if let bytes { return try DigitReader(modelBytes: bytes, path: model.path) }
        // First use: read the file, and keep its bytes unless another request got there first.
        let read = try DigitReader.modelFile(model.path)
        let kept = shelves.withLock { state in
            if state.byPath[model.path] == nil { state.byPath[model.path] = Shelf(bytes: read, idle: []) }
            return state.byPath[model.path]!.bytes
        }
        return try DigitReader(modelBytes: kept, path: model.path)
    }
}
