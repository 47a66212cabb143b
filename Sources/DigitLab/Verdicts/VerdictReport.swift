import Foundation

/// Which of the paper's differences are real: the twelve one-knob pairs of its eight cases, its
/// claims (experiments/paper-claims.yaml), and its single-run figures against the interval our
/// seeds predict for one run. `digitlab report` writes it as results/verdicts.md, verdicts.csv,
/// verdicts-figures.csv and plots/verdicts-forest.svg.
public struct VerdictReport: Sendable {
    /// One of the paper's claims, judged.
    public struct ClaimResult: Sendable {
        public struct Item: Sendable {
            public var expect: PaperClaims.Expectation
            public var comparison: SeedComparison?
            public var status: PaperClaims.Status
            /// The paper's own A - B, from its single runs.
            public var paperDifference: Double?
        }
        public var claim: PaperClaims.Claim
        public var items: [Item]
        public var status: PaperClaims.Status
    }

    /// One of the paper's figures against the interval for one run of ours.
    public struct FigureCheck: Sendable {
        public var name: String
        public var paperCase: Int
        public var column: String
        public var paper: Double
        public var seeds: Int
        public var mean: Double
        public var standardDeviation: Double
        public var interval: Interval
        public var inside: Bool { interval.contains(paper) }
    }

    /// Test-set images: MNIST's (and Fashion-MNIST's) 10,000.
    public static let testImages = 10_000
    /// Validation images: the last 10% of the 60,000 training images (cases 1-4).
    public static let validationImages = 6_000

    public var resultsDirectory: String
    public var column: String
    public var settings: ComparisonSettings
    public var sets: [RunSet]
    public var pairs: [SeedComparison]
    public var claims: [ClaimResult]
    public var margin: Double
    public var figures: [FigureCheck]

    /// Reads the case specs' runs and evaluates the pairs, the claims (when `claimsPath` is
    /// given) and the paper's figures (when `paperResultsPath` is).
    public static func collect(specs: [ExperimentSpec], resultsDirectory: String, claimsPath: String?,
                               paperResultsPath: String?, column: String = Metric.test.rawValue,
                               settings: ComparisonSettings = .init()) throws -> VerdictReport {
        let sets = specs.map { RunSet.load(spec: $0, resultsDirectory: resultsDirectory) }
        let byName = Dictionary(uniqueKeysWithValues: sets.map { ($0.name, $0) })
        var pairs = SeedComparison.oneKnobPairs(specs).compactMap { p in
            SeedComparison(label: p.label, a: byName[p.a.name]!, b: byName[p.b.name]!, knob: p.knob, column: column, settings: settings)
        }
        SeedComparison.adjust(&pairs)

        let paper = try paperResultsPath.map { try PaperResults.read(path: $0) }
        let paperByName: [String: [String: Double]] = Dictionary(uniqueKeysWithValues: specs.compactMap { s in
            guard let c = s.paperCase, let row = paper?.rows[c] else { return nil }
            return (s.name, row.figures)
        })

        var claims: [ClaimResult] = [], margin = 0.1
        if let claimsPath {
            let file = try PaperClaims.load(path: claimsPath)
            margin = file.margin
            // One family for the claims: every distinct comparison they make, Holm-adjusted together.
            var distinct: [PaperClaims.Comparison] = []
            for claim in file.claims {
                for c in claim.comparisons {
                    for side in [c.a, c.b] where byName[side] == nil {
                        throw SpecError(file: claimsPath, key: "claims.\(claim.id)", problem: "names \(side), which is none of the cases ("
                                        + specs.map(\.name).joined(separator: ", ") + ")")
                    }
                    if !distinct.contains(where: { $0.a == c.a && $0.b == c.b }) { distinct.append(c) }
                }
            }
            var family = distinct.compactMap { c in
                SeedComparison(label: "\(c.a) - \(c.b)", a: byName[c.a]!, b: byName[c.b]!, column: column, settings: settings)
            }
            SeedComparison.adjust(&family)
            for claim in file.claims {
                let items = claim.comparisons.map { c -> ClaimResult.Item in
                    let found = family.first { $0.a == c.a && $0.b == c.b }
                    let paperDiff = paperByName[c.a]?[column].flatMap { a in paperByName[c.b]?[column].map { a - $0 } }
                    return ClaimResult.Item(expect: c.expect, comparison: found,
                                            status: found.map { file.judge(c.expect, $0.statistics) } ?? .undecided,
                                            paperDifference: paperDiff)
                }
                claims.append(ClaimResult(claim: claim, items: items, status: PaperClaims.combine(items.map(\.status))))
            }
        }

        var figures: [FigureCheck] = []
        for spec in specs {
            guard let c = spec.paperCase, let row = paper?.rows[c], let set = byName[spec.name] else { continue }
            for metric in Metric.allCases {
                guard let value = row.figures[metric.rawValue] else { continue }
                let ours = set.values(metric.rawValue).map(\.value)
                guard ours.count >= 2 else { continue }
                let mean = Sample.mean(ours)
                let images = metric == .test ? testImages : metric == .minValidation || metric == .maxValidation ? validationImages : nil
                let noise = images.map { 100 * binomialStandardError(accuracy: mean / 100, count: $0) } ?? 0
                figures.append(FigureCheck(name: spec.name, paperCase: c, column: metric.rawValue, paper: value, seeds: ours.count,
                                           mean: mean, standardDeviation: Sample.standardDeviation(ours),
                                           interval: predictionInterval(ours, extraStandardError: noise, confidence: settings.confidence)))
            }
        }
        return VerdictReport(resultsDirectory: resultsDirectory, column: column, settings: settings, sets: sets, pairs: pairs,
                             claims: claims, margin: margin, figures: figures)
    }

    /// Seeds per case, as "10" or "7-10".
    public var seedCounts: String {
        let counts = sets.map(\.seeds.count)
        guard let lo = counts.min(), let hi = counts.max() else { return "0" }
        return lo == hi ? "\(lo)" : "\(lo)-\(hi)"
    }

    // MARK: - Writing

    /// Writes verdicts.md, verdicts.csv, verdicts-figures.csv and plots/verdicts-forest.svg
    /// under the results directory; returns the paths written.
    @discardableResult
    public func write() throws -> [String] {
        let dir = resultsDirectory
        try FileManager.default.createDirectory(atPath: dir + "/plots", withIntermediateDirectories: true)
        let files = [(dir + "/verdicts.md", markdown), (dir + "/verdicts.csv", csv.text),
                     (dir + "/verdicts-figures.csv", figuresCSV.text),
                     (dir + "/plots/verdicts-forest.svg", ForestPlot.svg(title: "Paired differences in test accuracy, A - B",
                                                                          subtitle: "\(seedCounts) seeds per case; 95% bootstrap interval (BCa), zero marked",
                                                                          rows: pairs))]
        for (path, text) in files { try AtomicFile.write(text, to: path) }
        return files.map(\.0)
    }

    /// One row per comparison: the twelve pairs (family "one-knob"), then the claims' comparisons
    /// (family "claims"), each with every statistic.
    public var csv: CSVTable {
        var rows = pairs.map { Self.csvRow(family: "one-knob", claim: "", expect: "", status: "", $0) }
        for claim in claims {
            for item in claim.items {
                guard let c = item.comparison else { continue }
                rows.append(Self.csvRow(family: "claims", claim: claim.claim.id, expect: item.expect.rawValue,
                                        status: item.status.rawValue, c, paper: item.paperDifference))
            }
        }
        return CSVTable(header: Self.csvHeader, rows: rows)
    }

    public static let csvHeader = ["family", "pair", "a", "b", "column", "seeds", "pairs", "mean_difference", "sd_difference",
                                   "bootstrap_low", "bootstrap_high", "t_low", "t_high", "a_beats_b", "p_sign_flip", "p_holm",
                                   "p_t_test", "verdict", "detectable_80", "seeds_for_0.1", "claim", "expect", "status",
                                   "paper_difference", "pairing"]

    static func csvRow(family: String, claim: String, expect: String, status: String, _ c: SeedComparison,
                       paper: Double? = nil) -> [String] {
        let s = c.statistics
        return [family, c.label, c.a, c.b, c.column, c.seeds.map(String.init).joined(separator: " "), String(s.pairs),
                fixed(s.meanDifference, 4), fixed(s.standardDeviation, 4), fixed(s.bootstrap.lower, 4), fixed(s.bootstrap.upper, 4),
                fixed(s.t.lower, 4), fixed(s.t.upper, 4), fixed(s.probabilityABeatsB, 3), fixed(s.pValue, 5), fixed(s.adjustedP, 5),
                fixed(s.tTestP, 5), c.verdict.rawValue, fixed(s.minimumDetectable, 3), s.pairsNeeded.map(String.init) ?? "",
                claim, expect, status, paper.map { fixed($0, 2) } ?? "", c.pairing]
    }

    /// Every paper figure with our seeds' interval for one run.
    public var figuresCSV: CSVTable {
        CSVTable(header: ["case", "name", "column", "paper", "seeds", "our_mean", "our_sd", "one_run_low", "one_run_high", "inside"],
                 rows: figures.map { f in
                     [String(f.paperCase), f.name, f.column, fixed(f.paper, 2), String(f.seeds), fixed(f.mean, 3),
                      fixed(f.standardDeviation, 3), fixed(f.interval.lower, 3), fixed(f.interval.upper, 3), f.inside ? "yes" : "no"]
                 })
    }

    /// A difference with its sign (+0.12, −0.05), "n/a" when not finite.
    public static func signed(_ x: Double, _ digits: Int = 2) -> String {
        guard x.isFinite else { return "n/a" }
        let text = fixed(abs(x), digits)
        return (x < 0 && text.contains(where: { $0 != "0" && $0 != "." }) ? "−" : "+") + text
    }

    /// An interval as [−0.10, +0.25].
    public static func interval(_ i: Interval, _ digits: Int = 2) -> String {
        "[\(signed(i.lower, digits)), \(signed(i.upper, digits))]"
    }

    /// A p-value to three places, "<0.001" below that.
    public static func pText(_ p: Double) -> String { p < 0.001 ? "<0.001" : fixed(p, 3) }

    /// The twelve pairs as a Markdown table.
    public static func pairsTable(_ pairs: [SeedComparison]) -> String {
        var lines = ["| Pair (A − B) | Cases | Seeds | Mean diff | 95% CI (BCa) | 95% CI (t) | A beats B | p | p (Holm) | Verdict | Detectable | Seeds for 0.1 |",
                     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in pairs {
            let s = c.statistics
            let beats = Int((s.probabilityABeatsB * Double(s.pairs)).rounded())
            let verdict = c.verdict == .noDifference ? c.verdict.rawValue : "**\(c.verdict.rawValue)**"
            lines.append("| \(c.label) | \(c.a) − \(c.b) | \(s.pairs) | \(signed(s.meanDifference)) | \(interval(s.bootstrap)) | "
                         + "\(interval(s.t)) | \(beats)/\(s.pairs) | \(pText(s.pValue)) | \(pText(s.adjustedP)) | \(verdict) | "
                         + "\(fixed(s.minimumDetectable, 2)) | \(s.pairsNeeded.map(String.init) ?? "> 100,000") |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The claims as a Markdown table: status, and each comparison with our numbers and the paper's.
    public var claimsTable: String {
        var lines = ["| Claim | Status | Comparisons: ours (95% CI, verdict) · paper's single runs |", "| --- | --- | --- |"]
        for r in claims {
            let parts = r.items.map { item -> String in
                guard let c = item.comparison else { return "\(item.expect.rawValue): too few shared seeds" }
                let s = c.statistics
                return "\(c.a) − \(c.b) expected \(item.expect.rawValue): \(Self.signed(s.meanDifference)) \(Self.interval(s.bootstrap)), "
                    + "\(c.verdict.rawValue) → \(item.status.rawValue)" + (item.paperDifference.map { " · paper \(Self.signed($0))" } ?? "")
            }
            lines.append("| \(r.claim.text) | **\(r.status.rawValue)** | " + parts.joined(separator: "<br>") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var markdown: String {
        var md = """
            # Which differences are real

            Generated by `digitlab report` from the runs under `\(resultsDirectory)/runs/`: test accuracy, in points, \
            paired by seed (\(seedCounts) seeds per case: \(sets.map { "\($0.name) \($0.seeds.count)" }.joined(separator: ", "))). \
            A − B over the seeds both cases have; 95% intervals from a bootstrap over seeds (BCa, \(settings.resamples) \
            resamples, seed \(settings.seed)) and Student's t; p from an exact sign-flip permutation test, then Holm's \
            correction across the comparisons of each table. A verdict says better or worse when the Holm-adjusted p is \
            below 0.05. "Detectable" is the difference these seeds detect with 80% power; "Seeds for 0.1" how many seeds \
            would detect 0.1 point. Method and caveats: [docs/verdicts.md](../docs/verdicts.md).


            """
        md += "![Paired differences with 95% intervals](plots/verdicts-forest.svg)\n\n"
        md += "## The paper's claims\n\n"
        if claims.isEmpty {
            md += "No claims file.\n\n"
        } else {
            md += "From experiments/paper-claims.yaml. `same` and `not-worse` use a margin of \(fixed(margin, 2)) points: supported "
                + "when the interval lies inside it, contradicted when a verdict goes against them with the interval wholly outside; `better`/`worse` follow the verdict "
                + "(Holm across the claims' \(Set(claims.flatMap { $0.items.compactMap { $0.comparison.map { "\($0.a)-\($0.b)" } } }).count) comparisons).\n\n"
            md += claimsTable + "\n"
        }
        md += "## The twelve one-knob pairs\n\n" + Self.pairsTable(pairs) + "\n"
        md += "Pairing by seed: " + SeedComparison.Knob.allCases.map { "\($0.rawValue): \($0.pairing)" }.joined(separator: "; ") + ".\n\n"
        let unpaired = pairs.filter { !$0.unpairedSeeds.isEmpty }
        if !unpaired.isEmpty {
            md += "Seeds only one case of a pair has (left out of that pair): "
                + unpaired.map { "\($0.a)/\($0.b): \($0.unpairedSeeds.map(String.init).joined(separator: ","))" }.joined(separator: "; ") + ".\n\n"
        }
        md += "## The paper's single-run figures against one run of ours\n\n"
        let outside = figures.filter { !$0.inside }
        md += "Each of the paper's figures against the interval in which one run of ours falls with 95% probability "
            + "(mean ± t·√(s²(1 + 1/n) + se²), se the binomial error of 10,000 test or 6,000 validation images). "
            + "\(outside.count) of \(figures.count) figures fall outside"
            + (outside.isEmpty ? ".\n\n" : ":\n\n")
        if !outside.isEmpty {
            md += "| Case | Column | Paper | Ours: mean ± sd (seeds) | One run: 95% interval |\n| --- | --- | --- | --- | --- |\n"
            for f in outside {
                md += "| \(f.paperCase) | \(Metric(rawValue: f.column)?.title ?? f.column) | \(fixed(f.paper, 2)) | "
                    + "\(fixed(f.mean, 2)) ± \(fixed(f.standardDeviation, 2)) (\(f.seeds)) | \(fixed(f.interval.lower, 2))-\(fixed(f.interval.upper, 2)) |\n"
            }
            md += "\n"
        }
        md += "All figures: [verdicts-figures.csv](verdicts-figures.csv); all statistics: [verdicts.csv](verdicts.csv).\n\n"
        let testMean = Sample.mean(sets.flatMap { $0.values(column).map(\.value) })
        if testMean.isFinite {
            md += "## The test set's own noise\n\n"
            md += "At \(fixed(testMean, 2))% on \(Self.testImages) test images, the binomial standard error of one figure is "
                + "\(fixed(100 * binomialStandardError(accuracy: testMean / 100, count: Self.testImages), 2)) points: a single run "
                + "cannot separate cases closer than that. Both cases of a pair are scored on the same images, so this noise "
                + "partly cancels in the paired differences above, and the seeds' spread already holds what remains.\n"
        }
        return md
    }

    /// The README's verdict block: the claims in one table and the forest plot.
    public var readmeBlock: String {
        var md = "Over \(seedCounts) seeds per case, paired by seed ([results/verdicts.md](results/verdicts.md); "
            + "method: [docs/verdicts.md](docs/verdicts.md)):\n\n"
        md += "| The paper's claim | Over our seeds (A − B, 95% interval) |\n| --- | --- |\n"
        for r in claims {
            let detail: String
            if r.items.count <= 2 {
                detail = r.items.compactMap { item in
                    item.comparison.map { "\($0.a)−\($0.b) \(Self.signed($0.statistics.meanDifference)) \(Self.interval($0.statistics.bootstrap))" }
                }.joined(separator: "; ")
            } else {
                detail = PaperClaims.Status.allCases.compactMap { status in
                    let n = r.items.filter { $0.status == status }.count
                    return n == 0 ? nil : "\(n) \(status.rawValue)"
                }.joined(separator: ", ") + " of \(r.items.count) comparisons"
            }
            md += "| \(r.claim.text) | **\(r.status.rawValue)**: " + detail + " |\n"
        }
        let decided = pairs.filter { $0.verdict != .noDifference }
        let detectable = pairs.map(\.statistics.minimumDetectable)
        md += "\n" + (decided.isEmpty ? "None of the twelve one-knob pairs shows a difference"
                      : "\(decided.count) of the twelve one-knob pairs show a difference ("
                        + decided.map { "\($0.label) \($0.verdict.rawValue)" }.joined(separator: "; ") + ")")
            + "; these seeds detect \(fixed(detectable.min() ?? .nan, 2))-\(fixed(detectable.max() ?? .nan, 2)) points (80% power).\n\n"
        md += "![Paired differences with 95% intervals](results/plots/verdicts-forest.svg)\n"
        return md
    }

    /// Replaces the block between `<!-- verdicts:begin -->` and `<!-- verdicts:end -->` in a
    /// Markdown file; false when it has none.
    @discardableResult
    public func updateReadmeBlock(in path: String) throws -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let begin = text.range(of: "<!-- verdicts:begin -->"), let end = text.range(of: "<!-- verdicts:end -->"),
              begin.upperBound <= end.lowerBound else { return false }
        try AtomicFile.write(String(text[..<begin.upperBound] + "\n" + readmeBlock + text[end.lowerBound...]), to: path)
        return true
    }
}
