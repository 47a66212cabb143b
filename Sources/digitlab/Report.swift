import ArgumentParser
import DigitLab
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the summary tables from existing runs, without training.",
        discussion: """
            Without specs: the paper's eight cases (experiments/caseN.yaml), into \
            results/summary.csv and results/summary.md beside the paper's figures. With specs: \
            the sweep they plan (see `digitlab plan`), into results/sweeps/NAME/: summary.csv \
            and summary.md (one row per spec and grid point, over its finished seeds), runs.csv \
            (one row per finished run) and plots/. Either way it says how many planned runs \
            are still missing.
            """)

    @Argument(help: ArgumentHelp("A sweep's spec files (default: the paper's cases).", valueName: "spec"))
    var specs: [String] = []

    @Option(help: "Plan seeds 0..<N for every spec instead of its training.seeds.")
    var seeds: Int?

    @Option(help: "The sweep's name: its tables go to RESULTS/sweeps/NAME (default: the specs' file names).")
    var name: String?

    @Option(help: ArgumentHelp("Directory of the case specs.", valueName: "dir"))
    var experiments: String = "experiments"

    @Option(name: .customLong("out"), help: ArgumentHelp("Results directory.", valueName: "dir"))
    var results: String = "results"

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1.") }
        if let name, name.isEmpty || name.contains("/") { throw ValidationError("--name must be a plain name.") }
    }

    func run() throws {
        do {
            if !specs.isEmpty { return try sweepReport() }
            let specs = try Reproduction.caseSpecs(experimentsDirectory: experiments)
            let table = try Reproduction.writeSummary(specs: specs, resultsDirectory: results,
                                                      paperResults: paperResults(in: experiments))
            let missing = table.rows.filter { $0.seeds.isEmpty }.map(\.name)
            print("wrote \(results)/summary.csv and \(results)/summary.md" + updateReadme(table, results: results)
                  + (try writeVerdicts(specs: specs, results: results, experiments: experiments))
                  + (missing.isEmpty ? "" : "; no finished runs yet for " + missing.joined(separator: ", ")))
            let plans = specs.flatMap { spec in
                Reproduction.seeds(for: spec, count: seeds).map { RunPlan(spec: spec, seed: $0, resultsDirectory: results) }
            }
            // Seed-major, as `reproduce` trains them.
            let unfinished = plans.enumerated().filter { !$0.element.isFinished }
                .sorted { ($0.element.seed, $0.offset) < ($1.element.seed, $1.offset) }.map(\.element)
            print("\(plans.count) planned runs (\(specs.count) cases x their seeds): \(plans.count - unfinished.count) finished, "
                  + "\(unfinished.count) missing" + (unfinished.isEmpty ? "" : " ("
                  + unfinished.prefix(8).map { "\($0.spec.name) seed \($0.seed)" }.joined(separator: ", ")
                  + (unfinished.count > 8 ? ", ..." : "") + ")"))
            printStale(table)
        } catch {
            fail(error)
        }
    }

    private func sweepReport() throws {
        let plan = try SweepPlan.expand(specFiles: specs, seedCount: seeds, resultsDirectory: results)
        let name = self.name ?? plan.name
        let report = try SweepReport.collect(plan: plan)
        let directory = "\(results)/sweeps/\(name)"
        try report.write(to: directory, title: "Sweep \(name)")
        print("wrote \(directory)/summary.csv, summary.md and runs.csv")
        print(report.progress + (report.missing.isEmpty ? "" : "; `digitlab plan --pending \(specs.map(shellQuote).joined(separator: " "))` lists them"))
    }
}

/// Says which finished runs the table left out because their spec is not the current one.
func printStale(_ table: ReproductionTable) {
    let stale = table.rows.filter { !$0.staleSeeds.isEmpty }
    guard !stale.isEmpty else { return }
    print("left out of the table, finished with another spec than the current one (make reproduce runs them again): "
          + stale.map { "\($0.name) seed " + $0.staleSeeds.map(String.init).joined(separator: ",") }.joined(separator: "; "))
}

/// The paper's results table beside a directory of case specs, if there is one (the Fashion-MNIST
/// cases have none: the paper did not run them).
func paperResults(in experiments: String) -> String? {
    let path = experiments + "/paper-results.csv"
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// Rewrites the README's results block when the tables are the repository's own (results/ of the
/// paper's cases); returns a note for the command's output line.
func updateReadme(_ table: ReproductionTable, results: String) -> String {
    guard results == "results", table.rows.contains(where: { $0.paper != nil }),
          (try? Reproduction.updateResultsBlock(in: "README.md", table: table)) == true else { return "" }
    return " and the table in README.md"
}
