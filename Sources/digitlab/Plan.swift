import ArgumentParser
import DigitLab
import Foundation

/// The spec files of a sweep and the seeds to run them with, as `plan`, `sweep` and `report` take them.
struct SweepSpecs: ParsableArguments {
    @Argument(help: ArgumentHelp("Spec files; each runs at every combination of its grid and with each of its training.seeds.",
                                 valueName: "spec"))
    var specs: [String] = []

    @Option(help: "Run every spec for seeds 0..<N instead of its training.seeds.")
    var seeds: Int?

    func validate() throws {
        if specs.isEmpty { throw ValidationError("Missing expected argument '<spec> ...'.") }
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1.") }
    }

    func plan(results: String) throws -> SweepPlan {
        try SweepPlan.expand(specFiles: specs, seedCount: seeds, resultsDirectory: results)
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the runs a sweep's specs expand to, with their ids and status.",
        discussion: """
            Each spec runs at every combination of its grid: values (the last key varying \
            fastest) and with each of its training.seeds. Runs are numbered seed-major: every \
            spec's and setting's first seed before any second seed; the same specs always give \
            the same ids. `digitlab run --task ID SPEC...` runs one, `digitlab sweep --slurm \
            SPEC...` submits them all as a Slurm job array.

            Examples:
              digitlab plan experiments/sweeps/case7-lr.yaml
              digitlab plan --count experiments/case*.yaml
              digitlab plan --json --pending experiments/sweeps/case7-lr.yaml
            """)

    @OptionGroup var sweep: SweepSpecs

    @Flag(help: "Print the plan as JSON (digest, and per run its id, name, seed, spec, settings, directory and status).")
    var json = false

    @Flag(help: "Print only the number of runs.")
    var count = false

    @Flag(help: "Only the runs that have not finished.")
    var pending = false

    @Option(name: .customLong("out"), help: ArgumentHelp("Results directory.", valueName: "dir"))
    var results: String = "results"

    func validate() throws {
        if json && count { throw ValidationError("--json or --count, not both.") }
    }

    func run() throws {
        do {
            let plan = try sweep.plan(results: results)
            let runs = pending ? plan.runs.filter { $0.status != .finished } : plan.runs
            if count { print(runs.count); return }
            if json { print(try plan.json(runs: runs)); return }
            let statuses = runs.map { r -> String in
                switch r.status {
                case .finished: return "finished"
                case .started: return "started (\(r.plan.completedEpochs)/\(r.plan.spec.epochs) epochs)"
                case .pending: return "-"
                }
            }
            let idWidth = max(2, String(plan.runs.count - 1).count)
            let runWidth = max(3, runs.map(\.label.count).max() ?? 0)
            let statusWidth = max(6, statuses.map(\.count).max() ?? 0)
            func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
                let fill = String(repeating: " ", count: max(0, n - s.count))
                return right ? fill + s : s + fill
            }
            print(pad("id", idWidth, right: true) + "  " + pad("run", runWidth) + "  " + pad("status", statusWidth) + "  spec")
            for (r, status) in zip(runs, statuses) {
                print(pad(String(r.id), idWidth, right: true) + "  " + pad(r.label, runWidth) + "  " + pad(status, statusWidth)
                      + "  " + r.specFile)
            }
            let finished = plan.runs.filter { $0.status == .finished }.count
            let started = plan.runs.filter { $0.status == .started }.count
            print("\(plan.runs.count) runs (\(plan.shape)): \(finished) finished, \(started) started, "
                  + "\(plan.runs.count - finished - started) not started; results in \(results)/runs/; plan \(plan.digest)")
        } catch {
            fail(error)
        }
    }
}
