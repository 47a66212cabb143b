import ArgumentParser
import DigitLab
import Foundation

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two results CSV files with a tolerance.",
        discussion: """
            Rows are matched by name and seed (or by case); numbers must agree within the \
            tolerance, other fields exactly. Timing columns are skipped unless named. Exit status: \
            0 when everything is within tolerance, 1 when something is not, 2 when a file cannot be read.
            """)

    @Argument(help: "The reference CSV (for example a golden summary).")
    var first: String

    @Argument(help: "The CSV to check against it.")
    var second: String

    @Option(help: "Largest allowed absolute difference, in the files' units (percentage points for accuracies).")
    var tolerance: Double = 0.0

    @Option(parsing: .upToNextOption, help: "Compare only these columns.")
    var columns: [String] = []

    func run() throws {
        let a: CSVTable, b: CSVTable
        do {
            a = try CSVTable.read(path: first)
            b = try CSVTable.read(path: second)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        do {
            let diff = try ResultsDiff(old: a, new: b, tolerance: tolerance, columns: columns.isEmpty ? nil : columns,
                                       oldName: first, newName: second)
            print(diff.report(tolerance: tolerance))
            if !diff.passed { throw ExitCode(1) }
        } catch let e as DataError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(2)
        }
    }
}
