import Foundation

/// Whether this machine reproduces the committed record: each case's test accuracy from runs
/// made here (the local directory) against the interval the record's seeds predict for that
/// many new runs (seed spread plus the test set's binomial noise). With k cases the intervals
/// are taken at 1 - 0.05/k each (Bonferroni), so that a faithful machine is called "not
/// reproduced" in at most 5% of reproductions, not in one of three.
public struct ReproductionCheck: Sendable {
    public struct CaseResult: Sendable {
        public var name: String
        public var localSeeds: [Int]
        public var localMean: Double
        public var recordSeeds: Int
        public var recordMean: Double
        public var recordStandardDeviation: Double
        public var interval: Interval
        /// Local seeds whose figure equals the record's for the same seed (same bytes, likely).
        public var identicalSeeds: [Int]
        /// Local seeds whose resolved spec differs from the record's run of that seed.
        public var specDiffers: [Int]
        public var problem: String?

        public var reproduced: Bool { problem == nil && interval.contains(localMean) }
    }

    public var cases: [CaseResult]
    public var confidence: Double
    public var column: String

    public var reproduced: Bool { !cases.isEmpty && cases.allSatisfy(\.reproduced) }

    /// Checks every case spec that has local runs (all of them when `requireAll`) against the
    /// record's runs of the same spec.
    public static func check(specs: [ExperimentSpec], localDirectory: String, recordDirectory: String,
                             column: String = Metric.test.rawValue, requireAll: Bool = false,
                             familyConfidence: Double = 0.95) throws -> ReproductionCheck {
        var checked: [(ExperimentSpec, RunSet)] = []
        for spec in specs {
            let local = (try? RunSet.load(directory: "\(localDirectory)/runs/\(spec.name)"))
            if let local, !local.seeds.isEmpty { checked.append((spec, local)) } else if requireAll { checked.append((spec, RunSet(
                name: spec.name, directory: "\(localDirectory)/runs/\(spec.name)", spec: spec, figures: [:], staleSeeds: []))) }
        }
        guard !checked.isEmpty else {
            throw DataError(localDirectory, "holds no finished runs of the cases (expected \(localDirectory)/runs/caseN/seed-S/summary.csv); train them with digitlab reproduce --out \(localDirectory)")
        }
        let confidence = 1 - (1 - familyConfidence) / Double(checked.count)
        var results: [CaseResult] = []
        for (spec, local) in checked {
            let record = RunSet.load(spec: spec, resultsDirectory: recordDirectory)
            let values = local.values(column)
            let recordValues = record.values(column)
            let ours = recordValues.map(\.value)
            var result = CaseResult(name: spec.name, localSeeds: values.map(\.seed), localMean: Sample.mean(values.map(\.value)),
                                    recordSeeds: ours.count, recordMean: Sample.mean(ours), recordStandardDeviation: Sample.standardDeviation(ours),
                                    interval: Interval(.nan, .nan), identicalSeeds: [], specDiffers: [], problem: nil)
            if values.isEmpty {
                result.problem = "no finished local run in \(local.directory)"
            } else if ours.count < 2 {
                result.problem = "the record has \(ours.count) finished run\(ours.count == 1 ? "" : "s") of \(spec.name) with the current spec; an interval needs two"
            } else {
                let noise = 100 * binomialStandardError(accuracy: result.recordMean / 100, count: VerdictReport.testImages)
                result.interval = predictionInterval(ours, newRuns: values.count, extraStandardError: noise, confidence: confidence)
                let byseed = Dictionary(uniqueKeysWithValues: recordValues.map { ($0.seed, $0.value) })
                result.identicalSeeds = values.filter { byseed[$0.seed] == $0.value }.map(\.seed)
            }
            for seed in result.localSeeds {
                let plan = RunPlan(spec: spec, seed: seed, resultsDirectory: localDirectory)
                if let saved = try? String(contentsOfFile: plan.specPath, encoding: .utf8), !RunPlan.sameRun(saved, plan.resolvedYAML) {
                    result.specDiffers.append(seed)
                }
            }
            results.append(result)
        }
        return ReproductionCheck(cases: results, confidence: confidence, column: column)
    }

    /// One line per case and a last line with the verdict.
    public var text: String {
        var lines: [String] = []
        for c in cases {
            let seeds = c.localSeeds.count == 1 ? "seed \(c.localSeeds[0])" : "mean of seeds \(c.localSeeds.map(String.init).joined(separator: ","))"
            var line = "\(c.name): "
            if let problem = c.problem {
                line += "NOT REPRODUCED: \(problem)"
            } else {
                line += (c.reproduced ? "reproduced" : "NOT REPRODUCED") + ": \(seeds) \(fixed(c.localMean, 2))%, record \(fixed(c.recordMean, 2)) ± "
                    + "\(fixed(c.recordStandardDeviation, 2)) over \(c.recordSeeds) seeds, expected \(fixed(c.interval.lower, 2))-\(fixed(c.interval.upper, 2))"
                if !c.identicalSeeds.isEmpty { line += " (identical to the record's seed \(c.identicalSeeds.map(String.init).joined(separator: ",")))" }
            }
            if !c.specDiffers.isEmpty { line += "; note: the local run's spec is not the current one (seed \(c.specDiffers.map(String.init).joined(separator: ",")))" }
            lines.append(line)
        }
        let failed = cases.filter { !$0.reproduced }
        lines.append(failed.isEmpty
            ? "REPRODUCED: all \(cases.count) cases inside the record's intervals (\(fixed(100 * confidence, 2))% each, 95% together)"
            : "NOT REPRODUCED: \(failed.count) of \(cases.count) cases outside the record's intervals (\(failed.map(\.name).joined(separator: ", ")))")
        return lines.joined(separator: "\n") + "\n"
    }
}
