import ArgumentParser
import DigitLab
import Foundation

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train all eight of the paper's cases and write the summary tables.",
        discussion: """
            Runs experiments/case1.yaml ... case8.yaml for each seed, skipping runs that have \
            already finished with the same resolved spec and resuming interrupted ones from their \
            last completed epoch, then writes results/summary.csv and results/summary.md with the \
            paper's figures beside ours. With --jobs N, N runs train at once, each in a `digitlab \
            run` process of its own.
            """)

    @Option(help: "Run every case for seeds 0..<N (default: each spec's seeds, else its seed).")
    var seeds: Int?

    @Option(help: ArgumentHelp("Directory of the case specs.", valueName: "dir"))
    var experiments: String = "experiments"

    @Option(help: "Only these cases (comma-separated numbers, e.g. 1,7).")
    var cases: String?

    @OptionGroup var data: DataOptions

    @OptionGroup var engine: ThreadOptions

    @OptionGroup var jobs: JobsOption

    func run() throws {
        do {
            var specs = try Reproduction.caseSpecs(experimentsDirectory: experiments)
            if let cases {
                let wanted = Set(cases.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
                specs = specs.filter { wanted.contains($0.paperCase ?? -1) }
            }
            // Seed-major order: every case's first seed before any case's second, so an
            // interrupted reproduction still has a full table.
            let perSpec = specs.map { spec in
                Reproduction.seeds(for: spec, count: seeds).map { RunPlan(spec: spec, seed: $0, resultsDirectory: data.results) }
            }
            let plans = (0..<(perSpec.map(\.count).max() ?? 0)).flatMap { i in perSpec.compactMap { i < $0.count ? $0[i] : nil } }
            let pending = plans.filter { !$0.isFinished }
            say("reproduce: \(plans.count) runs (\(specs.count) cases), \(plans.count - pending.count) already finished, \(pending.count) to train")
            let (jobCount, threads) = jobs.schedule(threads: engine.threads)
            let failures = jobCount > 1 && !pending.isEmpty ? trainAtOnce(pending, jobs: jobCount, threads: threads)
                : try trainOneByOne(pending, threads: threads)
            let allSpecs = try Reproduction.caseSpecs(experimentsDirectory: experiments)
            let table = try Reproduction.writeSummary(specs: allSpecs, resultsDirectory: data.results,
                                                      paperResults: paperResults(in: experiments))
            say("wrote \(data.results)/summary.csv and \(data.results)/summary.md" + updateReadme(table, results: data.results)
                + (try writeVerdicts(specs: allSpecs, results: data.results, experiments: experiments)))
            printStale(table)
            if !failures.isEmpty {
                for f in failures { FileHandle.standardError.write(Data("error: \(f)\n".utf8)) }
                throw ExitCode(1)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            fail(error)
        }
    }

    /// One run after another in this process, on `threads` threads; returns the failures.
    private func trainOneByOne(_ pending: [RunPlan], threads: Int) throws -> [String] {
        useEngineThreads(threads)
        var failures: [String] = []
        let runner = Runner(dataDirectory: data.directory, observer: nil)
        Interruption.install()
        let started = Date()
        for (i, plan) in pending.enumerated() {
            let printer = ProgressPrinter(prefix: "[\(i + 1)/\(pending.count)\(overallETA(done: i, total: pending.count, since: started))] ")
            runner.observer = printer
            do {
                try runner.run(plan, resume: true)
            } catch let held as RunLockHeld {
                say("[\(i + 1)/\(pending.count)] \(plan.spec.name) seed \(plan.seed): skipped, \(held.holder) is training it (\(held.directory))")
            } catch let error as TrainingError {
                if case .interrupted = error {
                    Interruption.exitResumable(error, resume: "digitlab reproduce (or make reproduce); finished runs are kept and skipped")
                }
                failures.append("\(plan.spec.name) seed \(plan.seed): \(error)")
            }
        }
        return failures
    }

    /// --jobs N: the pending runs in child processes (`digitlab run SPEC --seed S --resume`), N at
    /// once on `threads` threads each; returns the failures.
    private func trainAtOnce(_ pending: [RunPlan], jobs: Int, threads: Int) -> [String] {
        say("reproduce: up to \(jobs) runs at once, \(threads) engine thread\(threads == 1 ? "" : "s") each")
        let children = pending.map { plan in
            ChildRun(label: "\(plan.spec.name) seed \(plan.seed)",
                     arguments: ["run", plan.spec.file, "--seed", String(plan.seed), "--resume", "--threads", String(threads),
                                 "--out", data.results] + (data.directory.map { ["--data", $0] } ?? []),
                     plan: plan)
        }
        let outcome = ParallelRuns.train(children, jobs: jobs)
        ParallelRuns.exitIfInterrupted(outcome)
        return outcome.failures
    }
}

/// The whole reproduction's progress for a run's prefix: runs done and left, and the time left at
/// the pace of the runs finished so far ("" before the first has finished).
func overallETA(done: Int, total: Int, since start: Date) -> String {
    guard done > 0 else { return ", 0 done, \(total) left" }
    let perRun = Date().timeIntervalSince(start) / Double(done)
    return ", \(done) done, \(total - done) left, ETA \(formatDuration(perRun * Double(total - done)))"
}
