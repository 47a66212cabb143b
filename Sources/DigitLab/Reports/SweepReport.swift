import Foundation

/// A sweep's finished runs, aggregated: one row per spec and grid point (mean, std and range
/// over its finished seeds), one row per finished run, and the planned runs still missing.
/// Only runs the plan names count, and only when they finished with the resolved spec the plan
/// gives them.
public struct SweepReport: Sendable {
    public struct Group: Sendable {
        /// `NAME[+settings]`, the directory under `runs/`.
        public var name: String
        public var spec: String
        public var settings: String
        public var planned: [PlannedRun]
        /// The finished runs' seeds, in plan order.
        public var seeds: [Int]
        public var spreads: [Metric: Spread]
        public var testLoss: Spread?
        public var epochSeconds: Spread?
    }

    public var plan: SweepPlan
    public var groups: [Group]
    /// One row per finished run: its summary, named by run rather than by spec.
    public var runs: CSVTable
    /// Planned runs without a finished summary (of their resolved spec).
    public var missing: [PlannedRun]

    public var finishedCount: Int { plan.runs.count - missing.count }

    /// Reads the summaries of the plan's finished runs.
    public static func collect(plan: SweepPlan) throws -> SweepReport {
        var groups: [Group] = [], index: [String: Int] = [:]
        var rows: [[String]] = [], missing: [PlannedRun] = []
        let header = ["id", "name", "spec", "settings"] + RunSummary.csvColumns.filter { $0 != "name" }
        var values: [String: [String: [Double]]] = [:]
        for run in plan.runs {
            if index[run.name] == nil {
                index[run.name] = groups.count
                groups.append(Group(name: run.name, spec: run.plan.spec.name, settings: run.settingsText, planned: [], seeds: [],
                                    spreads: [:], testLoss: nil, epochSeconds: nil))
            }
            let g = index[run.name]!
            groups[g].planned.append(run)
            guard run.plan.isFinished else { missing.append(run); continue }
            let t = try CSVTable.read(path: run.plan.summaryPath)
            guard let row = t.rows.first else { missing.append(run); continue }
            func cell(_ c: String) -> String { t.column(c).map { row[$0] } ?? "" }
            rows.append([String(run.id), run.name, run.plan.spec.name, run.settingsText]
                        + RunSummary.csvColumns.filter { $0 != "name" }.map(cell))
            groups[g].seeds.append(run.seed)
            for c in Metric.allCases.map(\.rawValue) + ["test_loss", "median_epoch_seconds"] {
                if let v = Double(cell(c)), v.isFinite { values[run.name, default: [:]][c, default: []].append(v) }
            }
        }
        for i in groups.indices {
            let v = values[groups[i].name] ?? [:]
            for m in Metric.allCases { groups[i].spreads[m] = v[m.rawValue].flatMap { Spread($0) } }
            groups[i].testLoss = v["test_loss"].flatMap { Spread($0) }
            groups[i].epochSeconds = v["median_epoch_seconds"].flatMap { Spread($0) }
        }
        return SweepReport(plan: plan, groups: groups, runs: CSVTable(header: header, rows: rows), missing: missing)
    }

    /// One row per spec and grid point: the planned and finished seeds, and for each of the
    /// paper's columns the mean, std, min and max over the finished seeds.
    public var summary: CSVTable {
        var header = ["name", "spec", "settings", "planned", "finished", "seeds"]
        for m in Metric.allCases { header += ["\(m.rawValue)_mean", "\(m.rawValue)_std", "\(m.rawValue)_min", "\(m.rawValue)_max"] }
        header += ["test_loss_mean", "epoch_seconds_median"]
        let body = groups.map { g -> [String] in
            var cells = [g.name, g.spec, g.settings, String(g.planned.count), String(g.seeds.count),
                         g.seeds.map(String.init).joined(separator: " ")]
            for m in Metric.allCases {
                let s = g.spreads[m]
                cells += [s.map { fixed($0.mean, 3) } ?? "", s.map { fixed($0.std, 3) } ?? "",
                          s.map { fixed($0.min, 3) } ?? "", s.map { fixed($0.max, 3) } ?? ""]
            }
            cells += [g.testLoss.map { fixed($0.mean, 5) } ?? "", g.epochSeconds.map { fixed($0.mean, 2) } ?? ""]
            return cells
        }
        return CSVTable(header: header, rows: body)
    }

    /// "N planned runs: F finished, M missing (ids ...)".
    public var progress: String {
        let ids = missing.map(\.id)
        let list = ids.count <= 20 ? SweepPlan.ranges(ids) : SweepPlan.ranges(Array(ids.prefix(20))) + ",..."
        return "\(plan.runs.count) planned runs: \(finishedCount) finished, \(missing.count) missing"
            + (missing.isEmpty ? "" : " (ids \(list))")
    }

    /// A Markdown table, one row per spec and grid point: mean ± std (min-max) over the finished seeds.
    public func markdown(title: String, plots: [String], directory: String) -> String {
        let metrics = Metric.allCases.filter { m in groups.contains { $0.spreads[m] != nil } }
        var out = ["## \(title)", "",
                   "Specs: " + plan.specFiles.map { "`\($0)`" }.joined(separator: ", ") + " (\(plan.shape)). "
                   + progress + ". Generated by `digitlab report` from the runs under `runs/`.", ""]
        out.append("| Run | Seeds | " + metrics.map(\.title).joined(separator: " | ") + " | Test loss |")
        out.append("| --- | --- | " + metrics.map { _ in "---" }.joined(separator: " | ") + " | --- |")
        for g in groups {
            var cells = ["`\(g.name)`", "\(g.seeds.count)/\(g.planned.count)"]
            for m in metrics {
                guard let s = g.spreads[m] else { cells.append("-"); continue }
                cells.append(s.count > 1 ? "\(fixed(s.mean, 2)) ± \(fixed(s.std, 2)) (\(fixed(s.min, 2))-\(fixed(s.max, 2)))" : fixed(s.mean, 2))
            }
            cells.append(g.testLoss.map { fixed($0.mean, 4) } ?? "-")
            out.append("| " + cells.joined(separator: " | ") + " |")
        }
        out += ["", "Accuracies in percent: mean ± standard deviation over the finished seeds (min-max). "
                + "Seeds: finished of planned. Every run's figures are in `runs.csv`.", ""]
        let md = ReproductionPlots.markdown(plots: plots, resultsDirectory: directory)
        if !md.isEmpty { out.append(md) }
        return out.joined(separator: "\n")
    }

    /// Writes `summary.csv`, `summary.md`, `runs.csv` and `plots/NAME-{accuracy,loss}.svg` into
    /// `directory`; returns the paths written.
    @discardableResult
    public func write(to directory: String, title: String) throws -> [String] {
        var plots: [String] = []
        for g in groups where !g.seeds.isEmpty {
            let histories = try g.planned.filter { g.seeds.contains($0.seed) }.map { try History.read(path: $0.plan.historyPath) }
            for quantity in ReproductionPlots.Quantity.allCases {
                let path = "\(directory)/plots/\(g.name)-\(quantity.rawValue).svg"
                try AtomicFile.write(ReproductionPlots.historyChart(caseName: g.name, histories: histories, quantity: quantity), to: path)
                plots.append(path)
            }
        }
        try AtomicFile.write(summary.text, to: directory + "/summary.csv")
        try AtomicFile.write(runs.text, to: directory + "/runs.csv")
        try AtomicFile.write(markdown(title: title, plots: plots, directory: directory), to: directory + "/summary.md")
        return [directory + "/summary.csv", directory + "/summary.md", directory + "/runs.csv"] + plots
    }
}
