import Foundation

/// One epoch's figures, as Keras's `History` reports them.
public struct EpochRecord: Sendable, Equatable, Codable {
    public var epoch: Int
    /// Sample-weighted running mean over the epoch's batches, taken before each batch's update
    /// (Keras's `loss` and `accuracy`), the loss including the L2 terms.
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// On the held-out validation set after the epoch, or nil without validation.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double?,
                validationAccuracy: Double?, seconds: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss; self.validationAccuracy = validationAccuracy; self.seconds = seconds
    }
}

/// A run's per-epoch figures, written as `history.csv`.
public struct History: Sendable, Equatable, Codable {
    public var epochs: [EpochRecord] = []

    public init(epochs: [EpochRecord] = []) { self.epochs = epochs }

    public static let csvHeader = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds"

    /// The CSV text. Figures are printed with fixed precision so that identical runs give
    /// byte-identical files; seconds are the one column that differs between runs.
    public var csv: String {
        var lines = [History.csvHeader]
        for e in epochs {
            lines.append([String(e.epoch), fixed(e.trainLoss, 6), fixed(e.trainAccuracy, 6),
                          e.validationLoss.map { fixed($0, 6) } ?? "", e.validationAccuracy.map { fixed($0, 6) } ?? "",
                          fixed(e.seconds, 2)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `x` with `digits` decimals, the way reports print every figure.
public func fixed(_ x: Double, _ digits: Int) -> String {
    x.isFinite ? String(format: "%.\(digits)f", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"))
}
