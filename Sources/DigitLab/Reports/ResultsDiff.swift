import Foundation

/// Compares two results CSV files row by row and column by column, with a tolerance on numbers.
///
/// Rows are matched by their `name` and `seed` columns when both files have them, else by `case`,
/// else by position. Numeric columns are compared within `tolerance` (absolute, in the file's own
/// units: percentage points for accuracies); other columns must be equal. Timing columns (any
/// with "seconds" in the name) are skipped unless named in `columns`, since they measure the
/// machine, not the result.
public struct ResultsDiff: Sendable {
    public struct Change: Sendable, Equatable {
        public var row: String
        public var column: String
        public var old: String
        public var new: String
        /// The numeric difference, when both are numbers.
        public var delta: Double?
        public var withinTolerance: Bool
    }

    public var changes: [Change] = []
    public var missingRows: [String] = []
    public var addedRows: [String] = []
    public var comparedCells = 0

    public var passed: Bool { missingRows.isEmpty && addedRows.isEmpty && changes.allSatisfy(\.withinTolerance) }

    public init(old: CSVTable, new: CSVTable, tolerance: Double, columns: [String]? = nil,
                oldName: String = "A", newName: String = "B") throws {
        let wanted = columns ?? old.header.filter { new.header.contains($0) && !$0.contains("seconds") }
        for c in wanted where old.column(c) == nil || new.column(c) == nil {
            throw DataError(old.column(c) == nil ? oldName : newName, "has no column \"\(c)\"")
        }
        func keys(_ t: CSVTable) -> [String] {
            if let n = t.column("name"), let s = t.column("seed") { return t.rows.map { "\($0[n]) seed \($0[s])" } }
            if let c = t.column("case") { return t.rows.map { "case \($0[c])" } }
            return t.rows.indices.map { "row \($0 + 1)" }
        }
        let oldKeys = keys(old), newKeys = keys(new)
        var newIndex: [String: Int] = [:]
        for (i, k) in newKeys.enumerated() { newIndex[k] = i }
        missingRows = oldKeys.filter { newIndex[$0] == nil }
        addedRows = newKeys.filter { !oldKeys.contains($0) }
        for (i, key) in oldKeys.enumerated() {
            guard let j = newIndex[key] else { continue }
            for c in wanted {
                let a = old.rows[i][old.column(c)!], b = new.rows[j][new.column(c)!]
                comparedCells += 1
                if let x = Double(a), let y = Double(b) {
                    let d = y - x
                    if d != 0 || x.isNaN != y.isNaN {
                        changes.append(Change(row: key, column: c, old: a, new: b, delta: d,
                                              withinTolerance: abs(d) <= tolerance && !(x.isNaN || y.isNaN)))
                    }
                } else if a != b {
                    changes.append(Change(row: key, column: c, old: a, new: b, delta: nil, withinTolerance: false))
                }
            }
        }
    }

    /// A readable report: what moved, by how much, and whether it is within tolerance.
    public func report(tolerance: Double) -> String {
        var lines: [String] = []
        for r in missingRows { lines.append("missing in the second file: \(r)") }
        for r in addedRows { lines.append("only in the second file: \(r)") }
        if !changes.isEmpty {
            let rowWidth = max(3, changes.map(\.row.count).max()!), colWidth = max(6, changes.map(\.column.count).max()!)
            lines.append(pad("row", rowWidth) + "  " + pad("column", colWidth) + "  " + pad("first", 12) + "  " + pad("second", 12) + "  delta")
            for c in changes {
                let delta = c.delta.map { ($0 >= 0 ? "+" : "") + fixed($0, 4) } ?? "differs"
                lines.append(pad(c.row, rowWidth) + "  " + pad(c.column, colWidth) + "  " + pad(c.old, 12) + "  "
                             + pad(c.new, 12) + "  " + delta + (c.withinTolerance ? "" : "   OUT OF TOLERANCE"))
            }
        }
        let outside = changes.filter { !$0.withinTolerance }.count
        lines.append(passed
            ? "OK: \(comparedCells) values compared, \(changes.count) moved, all within tolerance \(tolerance)"
            : "FAIL: \(outside) of \(comparedCells) values outside tolerance \(tolerance)"
              + (missingRows.isEmpty && addedRows.isEmpty ? "" : ", \(missingRows.count + addedRows.count) rows unmatched"))
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
