import Foundation

/// A finished (or stopped) run in one row, in the paper's columns: min/max training and
/// validation accuracy over the epochs and the final test accuracy, in percent.
public struct RunSummary: Sendable, Equatable {
    public enum Status: String, Sendable { case finished, diverged }

    public var name: String
    public var paperCase: Int?
    public var dataset: String
    public var seed: Int
    public var epochs: Int
    public var status: Status
    public var minTrainAccuracy: Double
    public var maxTrainAccuracy: Double
    public var minValidationAccuracy: Double?
    public var maxValidationAccuracy: Double?
    public var testAccuracy: Double?
    public var testLoss: Double?
    public var medianEpochSeconds: Double

    public init(name: String, paperCase: Int?, dataset: String, seed: Int, history: History, status: Status,
                test: Evaluation?) {
        self.name = name
        self.paperCase = paperCase
        self.dataset = dataset
        self.seed = seed
        self.epochs = history.epochs.count
        self.status = status
        let train = history.epochs.map(\.trainAccuracy)
        minTrainAccuracy = 100 * (train.min() ?? .nan)
        maxTrainAccuracy = 100 * (train.max() ?? .nan)
        let validation = history.epochs.compactMap(\.validationAccuracy)
        minValidationAccuracy = validation.min().map { 100 * $0 }
        maxValidationAccuracy = validation.max().map { 100 * $0 }
        testAccuracy = test.map { 100 * $0.accuracy }
        testLoss = test?.loss
        medianEpochSeconds = median(history.epochs.map(\.seconds)) ?? .nan
    }

    public static let csvColumns = ["name", "paper_case", "dataset", "seed", "epochs", "status",
                                    "min_train_acc", "max_train_acc", "min_val_acc", "max_val_acc",
                                    "test_acc", "test_loss", "median_epoch_seconds"]

    public var csvRow: [String] {
        [name, paperCase.map(String.init) ?? "", dataset, String(seed), String(epochs), status.rawValue,
         fixed(minTrainAccuracy, 3), fixed(maxTrainAccuracy, 3),
         minValidationAccuracy.map { fixed($0, 3) } ?? "", maxValidationAccuracy.map { fixed($0, 3) } ?? "",
         testAccuracy.map { fixed($0, 3) } ?? "", testLoss.map { fixed($0, 5) } ?? "", fixed(medianEpochSeconds, 2)]
    }

    /// The one-row `summary.csv` of a run.
    public var csv: String { CSVTable(header: RunSummary.csvColumns, rows: [csvRow]).text }
}
