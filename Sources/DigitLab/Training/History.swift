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
    /// Wall-clock seconds the epoch took: written to `timing.csv`, not `history.csv`, which must be
    /// byte-identical between runs of the same spec and seed. NaN when unknown.
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double?,
                validationAccuracy: Double?, seconds: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss; self.validationAccuracy = validationAccuracy; self.seconds = seconds
    }
}

/// A run's per-epoch figures, written as `history.csv`, and the epochs' durations, written
/// beside it as `timing.csv`.
public struct History: Sendable, Equatable, Codable {
    public var epochs: [EpochRecord] = []

    public init(epochs: [EpochRecord] = []) { self.epochs = epochs }

    public static let csvHeader = "epoch,train_loss,train_accuracy,val_loss,val_accuracy"
    public static let timingHeader = "epoch,seconds"

    /// The CSV text of `history.csv`. Figures are printed with fixed precision and no timings, so
    /// that runs of the same spec and seed on the same machine give byte-identical files.
    public var csv: String {
        var lines = [History.csvHeader]
        for e in epochs {
            lines.append([String(e.epoch), fixed(e.trainLoss, 6), fixed(e.trainAccuracy, 6),
                          e.validationLoss.map { fixed($0, 6) } ?? "", e.validationAccuracy.map { fixed($0, 6) } ?? ""]
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The CSV text of `timing.csv`: each epoch's wall-clock seconds, the one figure that differs
    /// between identical runs.
    public var timingCSV: String {
        ([History.timingHeader] + epochs.map { "\($0.epoch),\(fixed($0.seconds, 2))" }).joined(separator: "\n") + "\n"
    }

    /// The timing file beside a history file.
    public static func timingPath(forHistory path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("timing.csv").path
    }

    /// Reads back the text `csv` writes. Columns are found by name, so their order may differ;
    /// empty validation cells are nil. A `seconds` column, which history files had before
    /// `timing.csv` existed, is read when present; otherwise seconds are NaN. `name` (usually the
    /// file's path) is used in errors.
    public static func parse(csv text: String, name: String) throws -> History {
        try History(table: CSVTable.parse(text, name: name), name: name)
    }

    /// Reads a `history.csv` file, and the seconds from `timing.csv` beside it when there is one;
    /// see `parse(csv:name:)`.
    public static func read(path: String) throws -> History {
        var history = try History(table: CSVTable.read(path: path), name: path)
        let timing = timingPath(forHistory: path)
        if FileManager.default.fileExists(atPath: timing) {
            let seconds = try History.seconds(CSVTable.read(path: timing), name: timing)
            for i in history.epochs.indices {
                if let s = seconds[history.epochs[i].epoch] { history.epochs[i].seconds = s }
            }
        }
        return history
    }

    /// Seconds by epoch from a `timing.csv` table.
    static func seconds(_ table: CSVTable, name: String) throws -> [Int: Double] {
        guard let epoch = table.column("epoch"), let seconds = table.column("seconds") else {
            throw DataError(name, "expected the header \(History.timingHeader)")
        }
        var out: [Int: Double] = [:]
        for (i, row) in table.rows.enumerated() {
            guard let e = Int(row[epoch]), let s = Double(row[seconds]) else {
                throw DataError(name, "line \(i + 2): expected an epoch number and seconds, found \"\(row[epoch])\", \"\(row[seconds])\"")
            }
            out[e] = s
        }
        return out
    }

    private init(table: CSVTable, name: String) throws {
        func column(_ c: String) throws -> Int {
            guard let i = table.column(c) else { throw DataError(name, "no \(c) column; expected the header \(History.csvHeader)") }
            return i
        }
        let epoch = try column("epoch"), trainLoss = try column("train_loss"), trainAccuracy = try column("train_accuracy")
        let validationLoss = try column("val_loss"), validationAccuracy = try column("val_accuracy")
        let seconds = table.column("seconds")
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
                                       validationAccuracy: try optional(validationAccuracy),
                                       seconds: try seconds.map(number) ?? .nan))
        }
        self.init(epochs: records)
    }
}
