import DigitLabEngine
import Foundation

/// A saved model measured on a labelled test set: accuracy, loss, confusion matrix and the
/// misclassified images.
public struct ModelEvaluation: Sendable {
    public var modelPath: String
    public var accuracy: Double
    /// Mean cross-entropy (without any L2 term, which a saved model does not record).
    public var loss: Double
    public var count: Int
    /// The test accuracy in percent the training run reported (model metadata), if any.
    public var reportedAccuracy: Double?
    public var confusion: ConfusionMatrix
    public var gallery: MisclassifiedGallery

    public init(reader: DigitReader, test: LabeledImages) {
        var predictions = [Int32](repeating: 0, count: test.count)
        let result = predictions.withUnsafeMutableBufferPointer {
            Trainer.evaluate(model: reader.model, set: test, normalization: reader.normalization, predictions: $0.baseAddress!)
        }
        modelPath = reader.path
        accuracy = result.accuracy
        loss = result.loss
        count = result.count
        reportedAccuracy = reader.metadata["test_accuracy"].flatMap(Double.init)
        confusion = ConfusionMatrix(labels: test.labels, predictions: predictions, classes: reader.model.plan.classes)
        var entries: [MisclassifiedGallery.Entry] = []
        for i in 0..<test.count where predictions[i] != test.labels[i] {
            let start = i * test.pixelsPerImage
            entries.append(.init(index: i, label: Int(test.labels[i]), predicted: Int(predictions[i]),
                                 pixels: Array(test.images[start..<start + test.pixelsPerImage])))
        }
        gallery = MisclassifiedGallery(entries: entries)
    }

    /// The model's name for output directories: its file name without the extension, or its run's
    /// name for `results/runs/NAME/seed-N/model.safetensors`.
    public static func name(ofModel path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let base = url.deletingPathExtension().lastPathComponent
        let parent = url.deletingLastPathComponent()
        if base == "model" && parent.lastPathComponent.hasPrefix("seed-") {
            return parent.deletingLastPathComponent().lastPathComponent + "-" + parent.lastPathComponent
        }
        return base
    }

    /// Writes evaluation.csv, confusion.csv, confusion.svg, misclassified.csv and misclassified.svg
    /// into `directory`; returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let name = ModelEvaluation.name(ofModel: modelPath)
        let summary = CSVTable(header: ["model", "test_images", "accuracy", "loss", "misclassified", "reported_accuracy"],
                               rows: [[modelPath, String(count), fixed(100 * accuracy, 3), fixed(loss, 5),
                                       String(gallery.entries.count), reportedAccuracy.map { fixed($0, 3) } ?? ""]])
        let files: [(String, String)] = [
            ("evaluation.csv", summary.text),
            ("confusion.csv", confusion.csv),
            ("confusion.svg", confusion.svg(title: "\(name): confusion matrix",
                                            subtitle: "\(count) test images, accuracy \(fixed(100 * accuracy, 2))%")),
            ("misclassified.csv", gallery.csv),
            ("misclassified.svg", try gallery.svg(title: "\(name) on \(count) test images")),
        ]
        var paths: [String] = []
        for (file, text) in files {
            let path = directory + "/" + file
            try AtomicFile.write(text, to: path)
            paths.append(path)
        }
        return paths
    }

    /// Two lines for people.
    public var summary: String {
        var s = "test accuracy \(fixed(100 * accuracy, 2))% (\(count - gallery.entries.count) of \(count)), loss \(fixed(loss, 4)) (cross-entropy)"
        if let reportedAccuracy {
            let same = abs(reportedAccuracy - 100 * accuracy) < 0.0051
            s += "\nthe training run reported \(fixed(reportedAccuracy, 2))%" + (same ? ": the same" : ": DIFFERENT")
        }
        return s
    }
}
