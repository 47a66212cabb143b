import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one experiment spec, or runs of a sweep, and write their results.",
        discussion: """
            Writes under results/runs/NAME/seed-N/: spec.yaml (the resolved spec), history.csv \
            (one row per epoch, byte-identical for the same spec and seed), timing.csv (seconds \
            per epoch), summary.csv (the paper's columns), model.safetensors (final \
            weights, Keras names and layouts) and checkpoint.safetensors (to resume). With \
            --epochs, --limit or --set, the run directory's name records them, so quick looks \
            never overwrite a full run.

            With --task ID or --shard I/N, the specs are a sweep (see `digitlab plan`): every \
            spec at every point of its grid and for each of its seeds, as independent runs numbered \
            in a fixed order. --task runs one of them (a Slurm array task), --shard every N-th from \
            I (a machine's share without Slurm), --jobs of them at once. Finished runs are skipped \
            and interrupted ones resume where they stopped.

            Examples:
              digitlab run experiments/case7.yaml
              digitlab run --task 3 experiments/sweeps/case7-lr.yaml
              digitlab run --shard 0/2 --threads 1 experiments/sweeps/case7-lr.yaml
              digitlab run --shard 0/1 --jobs 2 experiments/sweeps/case7-lr.yaml
            """)

    @Argument(help: ArgumentHelp("The experiment spec (YAML), e.g. experiments/case7.yaml; with --task or --shard, the sweep's specs.",
                                 valueName: "spec"))
    var specs: [String] = []

    @Option(help: "Train this many epochs instead of the spec's.")
    var epochs: Int?

    @Option(help: "Train on only the first N training images (before the validation split).")
    var limit: Int?

    @Option(help: "Seed for weights, shuffling and augmentation instead of the spec's.")
    var seed: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override any spec key, validated like the spec itself; repeatable.",
        discussion: "Example: --set optimizer.learning_rate=5e-4", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Continue from the run's last completed epoch if it has a checkpoint (always so with --task and --shard).")
    var resume = false

    @Option(help: ArgumentHelp("Run the sweep's run with this id (see `digitlab plan`).", valueName: "id"))
    var task: Int?

    @Option(help: ArgumentHelp("Run every N-th run of the sweep, from id I.", valueName: "I/N"))
    var shard: String?

    @Option(help: "With --task or --shard: run every spec for seeds 0..<N instead of its training.seeds.")
    var seeds: Int?

    @OptionGroup var engine: ThreadOptions

    @OptionGroup var jobs: JobsOption

    @Option(help: .hidden)
    var expectPlan: String?

    @OptionGroup var data: DataOptions

    func validate() throws {
        if specs.isEmpty { throw ValidationError("Missing expected argument '<spec>'.") }
        if task != nil || shard != nil {
            if task != nil && shard != nil { throw ValidationError("--task and --shard do not go together.") }
            if epochs != nil || limit != nil || seed != nil || !overrides.isEmpty {
                throw ValidationError("--task and --shard run the sweep as its specs plan it; put --epochs, --limit, --seed or --set into the specs (or their grid:).")
            }
            if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1.") }
            if task != nil && jobs.jobs != nil { throw ValidationError("--jobs goes with --shard: --task trains one run.") }
        } else {
            if specs.count > 1 { throw ValidationError("One spec at a time; several specs make a sweep: use --task ID or --shard I/N (see `digitlab plan`).") }
            if seeds != nil { throw ValidationError("--seeds goes with --task or --shard; for one run, use --seed.") }
            if jobs.jobs != nil { throw ValidationError("--jobs goes with --shard (or `digitlab reproduce`): one run trains on --threads threads.") }
        }
    }

    func run() throws {
        if task != nil || shard != nil { runSweep() }
        var sets = overrides
        if let epochs { sets.append("training.epochs=\(epochs)") }
        if let limit { sets.append("training.limit=\(limit)") }
        do {
            let spec = try ExperimentSpec.load(path: specs[0], overrides: sets)
            if !spec.grid.isEmpty {
                let count = spec.gridPoints.count
                throw DataError(specs[0], "sweeps a grid of \(count) settings; run one with `digitlab run --task ID \(specs[0])` "
                                + "(ids from `digitlab plan \(specs[0])`), or all with `digitlab run --shard 0/1 \(specs[0])`")
            }
            let variant = sets.isEmpty ? nil : sets.map { $0.replacingOccurrences(of: "training.", with: "") }
                .joined(separator: ",").replacingOccurrences(of: "/", with: "_")
            let plan = RunPlan(spec: spec, seed: seed ?? spec.seed, resultsDirectory: data.results, variant: variant)
            let printer = ProgressPrinter()
            engine.apply()
            let runner = Runner(dataDirectory: data.directory, observer: printer)
            Interruption.install()
            do {
                try runner.run(plan, resume: resume)
            } catch let e as TrainingError {
                if case .interrupted = e {
                    let again = CommandLine.arguments.dropFirst().filter { $0 != "--resume" }.joined(separator: " ")
                    Interruption.exitResumable(e, resume: "digitlab \(again) --resume")
                }
                throw e
            }
        } catch {
            fail(error)
        }
    }

    /// --task or --shard: the planned runs this process takes, finished ones skipped.
    private func runSweep() -> Never {
        do {
            let plan = try SweepPlan.expand(specFiles: specs, seedCount: seeds, resultsDirectory: data.results)
            if let expectPlan, expectPlan != plan.digest {
                throw DataError(specs.joined(separator: " "), "these specs now plan other runs than when the sweep was submitted "
                                + "(plan \(plan.digest), submitted \(expectPlan)): were they edited? Submit the sweep again.")
            }
            let mine: [PlannedRun]
            if let task {
                guard plan.runs.indices.contains(task) else {
                    throw DataError("--task", "no run \(task): the plan has \(plan.runs.count) runs, ids 0-\(plan.runs.count - 1)")
                }
                mine = [plan.runs[task]]
            } else {
                let (i, n) = try SweepPlan.parseShard(shard!)
                mine = plan.shard(i, of: n)
            }
            let pending = mine.filter { !$0.plan.isFinished }
            let what = task.map { "task \($0)" } ?? "shard \(shard!)"
            if let task, pending.isEmpty {
                say("task \(task): \(mine[0].label) has already finished; nothing to do")
            } else if task == nil {
                say("\(what): \(mine.count) of \(plan.runs.count) planned runs, \(mine.count - pending.count) already finished, \(pending.count) to train")
            }
            let (jobCount, threads) = task == nil ? jobs.schedule(threads: engine.threads) : (1, engine.threads ?? Runner.defaultThreads)
            if jobCount > 1 && !pending.isEmpty { trainAtOnce(pending, of: plan, jobs: jobCount, threads: threads) }
            useEngineThreads(threads)
            let runner = Runner(dataDirectory: data.directory, observer: nil)
            Interruption.install()
            var failures: [String] = []
            for (k, run) in pending.enumerated() {
                let prefix = pending.count > 1 ? "[\(k + 1)/\(pending.count)] " : ""
                say("\(prefix)run \(run.id): \(run.label) (\(run.specFile)\(run.settings.isEmpty ? "" : ", " + run.settingsText))"
                    + (run.plan.isStarted ? "; resuming from its checkpoint (epochs done: \(run.plan.completedEpochs))" : ""))
                let printer = ProgressPrinter(prefix: prefix)
                runner.observer = printer
                do {
                    try withExtendedLifetime(printer) { _ = try runner.run(run.plan, resume: true) }
                } catch let held as RunLockHeld {
                    say("\(prefix)run \(run.id): skipped, \(held.holder) is training it (\(held.directory))")
                } catch let error as TrainingError {
                    if case .interrupted = error {
                        let again = CommandLine.arguments.dropFirst().filter { $0 != "--resume" }.joined(separator: " ")
                        Interruption.exitResumable(error, resume: "digitlab \(again) (finished runs are skipped, this one resumes)")
                    }
                    failures.append("run \(run.id) (\(run.label)): \(error)")
                }
            }
            if !failures.isEmpty {
                for f in failures { FileHandle.standardError.write(Data("error: \(f)\n".utf8)) }
                Foundation.exit(1)
            }
            Foundation.exit(0)
        } catch {
            fail(error)
        }
    }

    /// --shard with --jobs N: the shard's pending runs in child processes (`digitlab run --task
    /// ID`), N at once on `threads` threads each.
    private func trainAtOnce(_ pending: [PlannedRun], of plan: SweepPlan, jobs: Int, threads: Int) -> Never {
        say("shard \(shard!): up to \(jobs) runs at once, \(threads) engine thread\(threads == 1 ? "" : "s") each")
        let children = pending.map { run in
            ChildRun(label: "run \(run.id) (\(run.label))",
                     arguments: ["run", "--task", String(run.id)] + specs + (seeds.map { ["--seeds", String($0)] } ?? [])
                        + ["--threads", String(threads), "--out", data.results, "--expect-plan", plan.digest]
                        + (data.directory.map { ["--data", $0] } ?? []),
                     plan: run.plan)
        }
        let outcome = ParallelRuns.train(children, jobs: jobs)
        ParallelRuns.exitIfInterrupted(outcome)
        for f in outcome.failures { FileHandle.standardError.write(Data("error: \(f)\n".utf8)) }
        Foundation.exit(outcome.failures.isEmpty ? 0 : 1)
    }
}
