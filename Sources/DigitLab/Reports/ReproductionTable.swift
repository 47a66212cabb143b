import Foundation

/// The paper's results table, as printed (percent); blank cells are nil.
public struct PaperResults: Sendable {
    public struct Row: Sendable {
        public var denseLayers: Int
        public var l2: Bool
        public var augmentation: Bool
        public var figures: [String: Double]
    }

    public var rows: [Int: Row]

    public static func read(path: String) throws -> PaperResults {
        let table = try CSVTable.read(path: path)
        var rows: [Int: Row] = [:]
        for r in table.rows {
            var cells: [String: String] = [:]
            for (k, v) in zip(table.header, r) { cells[k] = v }
            guard let c = cells["case"].flatMap(Int.init), let dense = cells["dense_layers"].flatMap(Int.init) else {
                throw DataError(path, "each row needs a case and dense_layers")
            }
            var figures: [String: Double] = [:]
            for m in Metric.allCases { if let v = cells[m.rawValue].flatMap(Double.init) { figures[m.rawValue] = v } }
            rows[c] = Row(denseLayers: dense, l2: cells["l2_first_conv"] == "true",
                          augmentation: cells["augmentation"] == "true", figures: figures)
        }
        return PaperResults(rows: rows)
    }
}

/// The paper's columns, named as in its results CSV and in our summaries.
public enum Metric: String, CaseIterable, Sendable {
    case minTrain = "min_train_acc", minValidation = "min_val_acc", maxTrain = "max_train_acc"
    case maxValidation = "max_val_acc", test = "test_acc"

    public var title: String {
        switch self {
        case .minTrain: "Min train acc"
        case .minValidation: "Min val acc"
        case .maxTrain: "Max train acc"
        case .maxValidation: "Max val acc"
        case .test: "Test acc"
        }
    }
}

/// Mean, standard deviation and range of one figure over a case's seeds.
public struct Spread: Sendable, Equatable {
    public var mean: Double, std: Double, min: Double, max: Double, count: Int

    public init?(_ xs: [Double]) {
        guard !xs.isEmpty else { return nil }
        count = xs.count
        let m = xs.reduce(0, +) / Double(xs.count)
        mean = m
        std = xs.count > 1 ? (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot() : 0
        min = xs.min()!
        max = xs.max()!
    }

    /// True when `x` lies outside [min, max] widened by half a printed digit (0.005 points). One
    /// seed spans no range, so it excludes nothing.
    public func excludes(_ x: Double) -> Bool { count > 1 && (x < min - 0.005 || x > max + 0.005) }
}

/// The Keras peer's figures per case (`../shared/peers/keras_cases.py`, one JSON line per epoch
/// and a SUMMARY line), read from `results/keras/caseN-seed-S.jsonl`, in percent.
public struct KerasResults: Sendable {
    public var rows: [Int: [Metric: Double]]
    public var seeds: [Int: [Int]]

    /// Reads every finished peer run in `directory` (files without a SUMMARY line are skipped).
    public static func read(directory: String) throws -> KerasResults {
        var rows: [Int: [Metric: [Double]]] = [:], seeds: [Int: [Int]] = [:]
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted()
        for file in files {
            let path = directory + "/" + file
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let line = text.split(separator: "\n").last(where: { $0.hasPrefix("SUMMARY ") }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(8).utf8)) as? [String: Any],
                  let c = (object["case"] as? NSNumber)?.intValue else {
                throw DataError(path, "the SUMMARY line is not the peer's JSON summary")
            }
            let keys: [(Metric, String)] = [(.minTrain, "min_train"), (.maxTrain, "max_train"), (.minValidation, "min_val"),
                                            (.maxValidation, "max_val"), (.test, "test_acc")]
            for (m, k) in keys { if let v = (object[k] as? NSNumber)?.doubleValue { rows[c, default: [:]][m, default: []].append(100 * v) } }
            seeds[c, default: []].append((object["seed"] as? NSNumber)?.intValue ?? 0)
        }
        return KerasResults(rows: rows.mapValues { $0.mapValues { $0.reduce(0, +) / Double($0.count) } }, seeds: seeds)
    }
}

/// What a case varies, read from its spec, so a table can be drawn without the paper's.
public struct CaseKnobs: Sendable {
    public var name: String
    public var paperCase: Int
    public var epochs: Int
    public var denseLayers: Int
    public var l2: Bool
    public var augmented: Bool
    /// The resolved spec a run of this case with a given seed has now; a run whose `spec.yaml`
    /// differs was made with other settings and is left out of the table (and listed as stale).
    public var resolvedSpec: (@Sendable (Int) -> String)?

    public init(name: String, paperCase: Int, epochs: Int, denseLayers: Int = 3, l2: Bool = false, augmented: Bool = false,
                resolvedSpec: (@Sendable (Int) -> String)? = nil) {
        self.name = name; self.paperCase = paperCase; self.epochs = epochs
        self.denseLayers = denseLayers; self.l2 = l2; self.augmented = augmented
        self.resolvedSpec = resolvedSpec
    }

    /// Whether the run in `directory` was made with the resolved spec this case has now for
    /// `seed` (as `RunPlan.sameRun` compares them, which `reproduce` uses too). Runs without a
    /// `spec.yaml`, or cases without `resolvedSpec`, count as current.
    func isCurrent(_ directory: String, seed: Int) -> Bool {
        guard let resolvedSpec, let saved = try? String(contentsOfFile: directory + "/spec.yaml", encoding: .utf8) else { return true }
        return RunPlan.sameRun(saved, resolvedSpec(seed))
    }
}

/// Every finished run of the reproduced cases, aggregated over seeds and set beside the paper.
public struct ReproductionTable: Sendable {
    public struct CaseRow: Sendable {
        public var knobs: CaseKnobs
        public var paperCase: Int
        public var name: String
        public var dataset: String
        public var seeds: [Int]
        public var spreads: [Metric: Spread]
        public var testLoss: Spread?
        public var epochSeconds: Spread?
        public var paper: PaperResults.Row?
        /// The Keras peer's figures for this case, mean over its seeds.
        public var keras: [Metric: Double]?
        public var epochs: Int
        /// Seeds with a finished run made with another spec than the case's current one, left out.
        public var staleSeeds: [Int] = []
    }

    public var rows: [CaseRow]

    /// Collects the summaries of runs `results/runs/NAME/seed-*/summary.csv` for each spec name.
    public static func collect(resultsDirectory: String, specs: [CaseKnobs], paper: PaperResults?,
                               keras: KerasResults? = nil) throws -> ReproductionTable {
        var rows: [CaseRow] = []
        for spec in specs {
            let dir = resultsDirectory + "/runs/" + spec.name
            let seedDirs = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.hasPrefix("seed-") }.sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
            var values: [Metric: [Double]] = [:], losses: [Double] = [], seconds: [Double] = [], seeds: [Int] = []
            var dataset = ""
            var stale: [Int] = []
            for seedDir in seedDirs {
                let path = dir + "/" + seedDir + "/summary.csv"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let t = try CSVTable.read(path: path)
                guard let row = t.rows.first else { continue }
                func cell(_ c: String) -> String? { t.column(c).map { row[$0] } }
                guard cell("status") == "finished", cell("epochs").flatMap(Int.init) == spec.epochs else { continue }
                let seed = cell("seed").flatMap(Int.init) ?? -1
                guard spec.isCurrent(dir + "/" + seedDir, seed: seed) else { stale.append(seed); continue }
                seeds.append(cell("seed").flatMap(Int.init) ?? -1)
                dataset = cell("dataset") ?? ""
                for m in Metric.allCases { if let v = cell(m.rawValue).flatMap(Double.init) { values[m, default: []].append(v) } }
                if let v = cell("test_loss").flatMap(Double.init) { losses.append(v) }
                if let v = cell("median_epoch_seconds").flatMap(Double.init) { seconds.append(v) }
            }
            var spreads: [Metric: Spread] = [:]
            for (m, xs) in values { spreads[m] = Spread(xs) }
            rows.append(CaseRow(knobs: spec, paperCase: spec.paperCase, name: spec.name, dataset: dataset, seeds: seeds,
                                spreads: spreads, testLoss: Spread(losses), epochSeconds: Spread(seconds),
                                paper: paper?.rows[spec.paperCase], keras: keras?.rows[spec.paperCase], epochs: spec.epochs,
                                staleSeeds: stale))
        }
        return ReproductionTable(rows: rows)
    }

    /// One row per case: for each of the paper's columns our mean, std, min and max over seeds,
    /// the paper's figure, and whether the paper's figure lies outside our seeds' range.
    public var csv: CSVTable {
        var header = ["case", "name", "dataset", "epochs", "seeds"]
        for m in Metric.allCases {
            header += ["\(m.rawValue)_mean", "\(m.rawValue)_std", "\(m.rawValue)_min", "\(m.rawValue)_max",
                       "\(m.rawValue)_keras", "\(m.rawValue)_paper", "\(m.rawValue)_paper_outside"]
        }
        header += ["test_loss_mean", "epoch_seconds_median"]
        let body = rows.map { r -> [String] in
            var cells = [String(r.paperCase), r.name, r.dataset, String(r.epochs), r.seeds.map(String.init).joined(separator: " ")]
            for m in Metric.allCases {
                let s = r.spreads[m], p = r.paper?.figures[m.rawValue]
                cells += [s.map { fixed($0.mean, 3) } ?? "", s.map { fixed($0.std, 3) } ?? "",
                          s.map { fixed($0.min, 3) } ?? "", s.map { fixed($0.max, 3) } ?? "",
                          r.keras?[m].map { fixed($0, 3) } ?? "", p.map { fixed($0, 2) } ?? "",
                          (s != nil && p != nil && s!.count > 1) ? (s!.excludes(p!) ? "yes" : "no") : ""]
            }
            cells += [r.testLoss.map { fixed($0.mean, 5) } ?? "", r.epochSeconds.map { fixed($0.mean, 2) } ?? ""]
            return cells
        }
        return CSVTable(header: header, rows: body)
    }

    /// Two Markdown tables shaped like the paper's (without and with augmentation): ours as
    /// mean ± std over seeds with the range, the Keras peer's figure, and the paper's, flagged when
    /// outside our range. Without the paper's figures, its columns are left out.
    public var markdown: String {
        var out: [String] = []
        let hasPaper = rows.contains { $0.paper != nil }, hasKeras = rows.contains { $0.keras != nil }
        let sources = ["ours"] + (hasKeras ? ["Keras"] : []) + (hasPaper ? ["paper"] : [])
        for augmented in [false, true] {
            let group = rows.filter { $0.knobs.augmented == augmented }
            guard !group.isEmpty else { continue }
            out.append(augmented ? "### With rotation augmentation (cases 5-8)" : "### Without augmentation (cases 1-4)")
            out.append("")
            let metrics: [Metric] = augmented ? [.minTrain, .maxTrain, .test] : Metric.allCases
            // One column per figure, each cell "ours · Keras · paper", to keep the table readable.
            let order = sources.joined(separator: " · ")
            out.append("| Case | Dense layers | L2 | Seeds | " + metrics.map { "\($0.title) (\(order))" }.joined(separator: " | ") + " |")
            out.append("| --- | --- | --- | --- | " + metrics.map { _ in "---" }.joined(separator: " | ") + " |")
            for r in group {
                var cells = [String(r.paperCase), String(r.knobs.denseLayers), r.knobs.l2 ? "yes" : "no", String(r.seeds.count)]
                for m in metrics {
                    let s = r.spreads[m], p = r.paper?.figures[m.rawValue]
                    var parts: [String] = []
                    if let s {
                        parts.append(s.count > 1 ? "\(fixed(s.mean, 2)) ± \(fixed(s.std, 2)) (\(fixed(s.min, 2))-\(fixed(s.max, 2)))"
                                                 : fixed(s.mean, 2))
                    } else { parts.append("-") }
                    if hasKeras { parts.append(r.keras?[m].map { fixed($0, 2) } ?? "-") }
                    if hasPaper {
                        if let p { parts.append((s.map { $0.excludes(p) } ?? false) ? "**\(fixed(p, 2))** ⚑" : fixed(p, 2)) }
                        else { parts.append("-") }
                    }
                    cells.append(parts.joined(separator: " · "))
                }
                out.append("| " + cells.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        var legend = "Ours: mean ± standard deviation over seeds (min-max), in percent."
        if hasKeras { legend += " Keras: the seed's own stack (TensorFlow CPU, `../shared/peers/keras_cases.py`), seed 0, same cases." }
        if hasPaper { legend += " ⚑ marks a paper figure outside the range our seeds span (with two seeds or more)." }
        out.append(legend)
        let stale = rows.filter { !$0.staleSeeds.isEmpty }
        if !stale.isEmpty {
            out.append("")
            out.append("Not counted: " + stale.map { "\($0.name) seed\($0.staleSeeds.count > 1 ? "s" : "") "
                + $0.staleSeeds.map(String.init).joined(separator: ", ") }.joined(separator: "; ")
                + ", finished with another spec than the current one (their `spec.yaml` differs); `make reproduce` runs them again.")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
