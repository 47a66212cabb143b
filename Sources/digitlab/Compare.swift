import ArgumentParser
import DigitLab
import Foundation

/// Options every statistics command shares.
struct ComparisonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The summary column compared (test_acc, max_train_acc, min_train_acc, max_val_acc, min_val_acc).", valueName: "column"))
    var column: String = "test_acc"

    @Option(help: "Bootstrap resamples per interval.")
    var resamples: Int = 10_000

    @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap's resampling (same seed, same intervals).")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Bootstrap interval: bca (bias-corrected and accelerated) or percentile.")
    var method: String = "bca"

    func validate() throws {
        guard resamples >= 100 else { throw ValidationError("--resamples must be at least 100.") }
        guard Bootstrap.Method(rawValue: method) != nil else { throw ValidationError("--method must be bca or percentile.") }
        guard Metric(rawValue: column) != nil else {
            throw ValidationError("--column must be one of " + Metric.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
    }

    var settings: ComparisonSettings {
        var s = ComparisonSettings()
        s.resamples = resamples
        s.seed = bootstrapSeed
        s.method = Bootstrap.Method(rawValue: method) ?? .bca
        return s
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say which differences between run sets are real: paired by seed, with intervals and a verdict.",
        discussion: """
            Compares runs seed by seed: the mean difference A - B with a 95% bootstrap interval \
            (BCa, seeded) and a t interval, how often A beats B, an exact sign-flip p-value, \
            Holm's correction across the comparisons, a verdict (better, worse, no difference \
            detected), the smallest difference these seeds could detect (80% power) and the \
            seeds needed to detect 0.1 point. Only seeds both sides have are paired.

            Without arguments: the paper's twelve one-knob pairs (experiments/caseN.yaml). With \
            two specs or run directories: A (the first) against B. With a sweep's spec (a grid) \
            or more than two: every two of its grid points or sets against each other.

            Examples:
              digitlab compare
              digitlab compare experiments/case7.yaml experiments/case8.yaml
              digitlab compare results/runs/case7 results/runs/case5 --json
              digitlab compare experiments/sweeps/smoke-lr.yaml
            """)

    @Argument(help: ArgumentHelp("Spec files (a sweep's grid points count as sets) or run directories (DIR/seed-N/).", valueName: "spec-or-dir"))
    var sets: [String] = []

    @Option(help: ArgumentHelp("Directory of the case specs.", valueName: "dir"))
    var experiments: String = "experiments"

    @Option(name: .customLong("out"), help: ArgumentHelp("Results directory holding runs/.", valueName: "dir"))
    var results: String = "results"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var options: ComparisonOptions

    func run() throws {
        do {
            let settings = options.settings
            var comparisons: [SeedComparison] = []
            var skipped: [String] = []
            if sets.isEmpty {
                let specs = try Reproduction.caseSpecs(experimentsDirectory: experiments)
                let loaded = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, RunSet.load(spec: $0, resultsDirectory: results)) })
                for p in SeedComparison.oneKnobPairs(specs) {
                    if let c = SeedComparison(label: p.label, a: loaded[p.a.name]!, b: loaded[p.b.name]!, knob: p.knob,
                                              column: options.column, settings: settings) {
                        comparisons.append(c)
                    } else { skipped.append("\(p.a.name) - \(p.b.name)") }
                }
            } else {
                let runSets = try sets.flatMap { try Self.load($0, results: results) }
                guard runSets.count >= 2 else {
                    throw DataError(sets[0], "is one set of runs; give two specs or run directories, or a sweep with two grid points or more")
                }
                let pairs = runSets.count == 2 ? [(runSets[0], runSets[1])]
                    : (0..<runSets.count).flatMap { i in (i + 1..<runSets.count).map { (runSets[$0], runSets[i]) } }
                for (a, b) in pairs {
                    if let c = SeedComparison(label: "\(a.name) - \(b.name)", a: a, b: b, column: options.column, settings: settings) {
                        comparisons.append(c)
                    } else { skipped.append("\(a.name) (seeds \(Self.list(a.seeds))) - \(b.name) (seeds \(Self.list(b.seeds)))") }
                }
            }
            SeedComparison.adjust(&comparisons)
            if json {
                print(try Self.json(comparisons, skipped: skipped))
            } else {
                print(Self.table(comparisons))
                if !skipped.isEmpty { print("fewer than two shared finished seeds, not compared: " + skipped.joined(separator: "; ")) }
            }
            if comparisons.isEmpty { throw DataError(results + "/runs", "no comparison has two seeds both sides finished; train more seeds") }
        } catch {
            fail(error)
        }
    }

    static func list(_ seeds: [Int]) -> String { seeds.isEmpty ? "none" : seeds.map(String.init).joined(separator: ",") }

    /// The run sets an argument names: a directory of seeds, or a spec's runs at each grid point.
    static func load(_ argument: String, results: String) throws -> [RunSet] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue {
            return [try RunSet.load(directory: argument)]
        }
        let plan = try SweepPlan.expand(specFiles: [argument], resultsDirectory: results)
        var seen = Set<String>(), out: [RunSet] = []
        for run in plan.runs where seen.insert(run.name).inserted {
            out.append(RunSet.load(spec: run.plan.spec, resultsDirectory: results, variant: run.variant))
        }
        return out
    }

    /// A plain-text table, one comparison a line.
    static func table(_ comparisons: [SeedComparison]) -> String {
        let header = ["A - B", "seeds", "mean", "95% CI (bootstrap)", "95% CI (t)", "A>B", "p", "p Holm", "verdict", "detectable", "seeds for 0.1"]
        let rows = comparisons.map { c -> [String] in
            let s = c.statistics
            return ["\(c.a) - \(c.b)", String(s.pairs), VerdictReport.signed(s.meanDifference, 3),
                    "[\(VerdictReport.signed(s.bootstrap.lower, 3)), \(VerdictReport.signed(s.bootstrap.upper, 3))]",
                    "[\(VerdictReport.signed(s.t.lower, 3)), \(VerdictReport.signed(s.t.upper, 3))]",
                    fixed(s.probabilityABeatsB, 2), fixed(s.pValue, 4), fixed(s.adjustedP, 4), c.verdict.rawValue,
                    fixed(s.minimumDetectable, 3), s.pairsNeeded.map(String.init) ?? ">100000"]
        }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
            + "\n(points; p: exact sign-flip permutation test; Holm across these \(comparisons.count); detectable: 80% power at 5%)"
    }

    static func json(_ comparisons: [SeedComparison], skipped: [String]) throws -> String {
        struct Row: Encodable {
            let label: String, a: String, b: String, column: String, seeds: [Int], unpairedSeeds: [Int], pairing: String
            let meanDifference: Double, sdDifference: Double, bootstrap: Interval, t: Interval, probabilityABeatsB: Double
            let pSignFlip: Double, pHolm: Double, pTTest: Double, verdict: String, minimumDetectable: Double, seedsFor01: Int?
            let differences: [Double]
        }
        struct Document: Encodable { let comparisons: [Row]; let notCompared: [String] }
        let rows = comparisons.map { c in
            let s = c.statistics
            return Row(label: c.label, a: c.a, b: c.b, column: c.column, seeds: c.seeds, unpairedSeeds: c.unpairedSeeds, pairing: c.pairing,
                       meanDifference: s.meanDifference, sdDifference: s.standardDeviation, bootstrap: s.bootstrap, t: s.t,
                       probabilityABeatsB: s.probabilityABeatsB, pSignFlip: s.pValue, pHolm: s.adjustedP, pTTest: s.tTestP,
                       verdict: c.verdict.rawValue, minimumDetectable: s.minimumDetectable, seedsFor01: s.pairsNeeded,
                       differences: s.differences)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(Document(comparisons: rows, notCompared: skipped)), as: UTF8.self)
    }
}

/// Writes results/verdicts.* beside the summary when the cases have paired seeds; returns a note
/// for the command's output line ("" when there was nothing to compare).
func writeVerdicts(specs: [ExperimentSpec], results: String, experiments: String) throws -> String {
    let claims = experiments + "/paper-claims.yaml"
    let report = try VerdictReport.collect(specs: specs, resultsDirectory: results,
                                           claimsPath: FileManager.default.fileExists(atPath: claims) ? claims : nil,
                                           paperResultsPath: paperResults(in: experiments))
    guard !report.pairs.isEmpty else { return "" }
    try report.write()
    let readme = results == "results" && (try? report.updateReadmeBlock(in: "README.md")) == true
    return "; verdicts (\(report.seedCounts) seeds per case) in \(results)/verdicts.md, verdicts.csv, verdicts-figures.csv and plots/verdicts-forest.svg"
        + (readme ? " and README.md" : "")
}
