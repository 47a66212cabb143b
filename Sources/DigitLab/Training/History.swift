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

    /// Reads back the text `csv` writes. Columns are found by name, so their order may differ;
    /// empty validation cells are nil. `name` (usually the file's path) is used in errors.
    public static func parse(csv text: String, name: String) throws -> History {
        try History(table: CSVTable.parse(text, name: name), name: name)
    }

    /// Reads a `history.csv` file; see `parse(csv:name:)`.
    public static func read(path: String) throws -> History {
        try History(table: CSVTable.read(path: path), name: path)
    }

    private init(table: CSVTable, name: String) throws {
        func column(_ c: String) throws -> Int {
            guard let i = table.column(c) else { throw DataError(name, "no \(c) column; expected the header \(History.csvHeader)") }
            return i
        }
        let epoch = try column("epoch"), trainLoss = try column("train_loss"), trainAccuracy = try column("train_accuracy")
        let validationLoss = try column("val_loss"), validationAccuracy = try column("val_accuracy"), seconds = try column("seconds")
        var records: [EpochRecord] = []
        for (i, row) in table.rows.enumerated() {
            // Line numbers count the header as line 1, as an editor shows them.
            func number(_ c: Int) throws -> Double {
                guard let x = Double(row[c]) else {
                    throw DataError(name, "line \(i + 2): \(table.header[c]) is \"\(row[c])\", not a number")
                }
                return x
            }
            func optional(_ c: Int) throws -> Double? { row[c].isEmpty ? nil : try number(c) }
            guard let e = Int(row[epoch]) else { throw DataError(name, "line \(i + 2): epoch is \"\(row[epoch])\", not a whole number") }
            records.append(EpochRecord(epoch: e, trainLoss: try number(trainLoss), trainAccuracy: try number(trainAccuracy),
                                       validationLoss: try optional(validationLoss),
                                       validationAccuracy: try optional(validationAccuracy), seconds: try number(seconds)))
        }
        self.init(epochs: records)
    }
}

/// `x` with `digits` decimals, the way reports print every figure.
public func fixed(_ x: Double, _ digits: Int) -> String {
    x.isFinite ? String(format: "%.\(digits)f", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"))
}
