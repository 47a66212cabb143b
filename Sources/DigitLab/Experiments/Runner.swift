import DigitLabEngine
import Foundation

/// What a run reports while it works; the command-line tool prints it.
public protocol RunObserver: AnyObject {
    func runStarted(_ run: RunPlan, resumedAt epoch: Int, trainCount: Int, validationCount: Int)
    func batchFinished(_ progress: BatchProgress, of run: RunPlan)
    func epochFinished(_ record: EpochRecord, of run: RunPlan)
    func runFinished(_ summary: RunSummary, of run: RunPlan)
}

/// One spec at one seed, and where its results go.
public struct RunPlan: Sendable {
    public let spec: ExperimentSpec
    public let seed: Int
    /// `results/runs/NAME/seed-N`, or NAME with a suffix naming the overrides.
    public let directory: String

    public init(spec: ExperimentSpec, seed: Int, resultsDirectory: String, variant: String? = nil) {
        self.spec = spec
        self.seed = seed
        let name = variant.map { "\(spec.name)+\($0)" } ?? spec.name
        self.directory = "\(resultsDirectory)/runs/\(name)/seed-\(seed)"
    }

    public var historyPath: String { directory + "/history.csv" }
    public var timingPath: String { directory + "/timing.csv" }
    public var summaryPath: String { directory + "/summary.csv" }
    public var specPath: String { directory + "/spec.yaml" }
    public var modelPath: String { directory + "/model.safetensors" }
    public var checkpointPath: String { directory + "/checkpoint.safetensors" }
    public var provenancePath: String { directory + "/provenance.txt" }

    /// The resolved spec with this plan's seed in force.
    public var resolvedYAML: String { spec.resolvedYAML(seed: seed) }

    /// True when this exact run (same resolved spec) has already finished.
    public var isFinished: Bool {
        guard let saved = try? String(contentsOfFile: specPath, encoding: .utf8), Self.sameRun(saved, resolvedYAML),
              let summary = try? CSVTable.read(path: summaryPath), let row = summary.rows.first,
              let status = summary.column("status") else { return false }
        return row[status] == RunSummary.Status.finished.rawValue
    }

    /// Whether two resolved specs describe the same run. Comments (the file the spec was read
    /// from, as typed) and `training.seeds` (the list a sweep draws this run's seed from, which
    /// grows when a study adds seeds) do not change what a run computes, so they are left out.
    public static func sameRun(_ a: String, _ b: String) -> Bool {
        func essence(_ yaml: String) -> [Substring] {
            yaml.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("  seeds:") }
        }
        return essence(a) == essence(b)
    }

    /// Whether the run has a checkpoint of this resolved spec to resume from, and no finished summary.
    public var isStarted: Bool {
        guard !isFinished, FileManager.default.fileExists(atPath: checkpointPath),
              let saved = try? String(contentsOfFile: specPath, encoding: .utf8) else { return false }
        return Self.sameRun(saved, resolvedYAML)
    }

    /// Epochs recorded in the run's history so far.
    public var completedEpochs: Int {
        guard let text = try? String(contentsOfFile: historyPath, encoding: .utf8) else { return 0 }
        return max(0, text.split(separator: "\n").count - 1)
    }
}

/// Trains the runs of specs and writes their results: the resolved spec, `history.csv` after every
/// epoch, a checkpoint to resume from, and at the end the final weights and a one-row `summary.csv`.
/// Every file is written atomically. It trains on `EngineThreads.count` threads, which its caller
/// sets (the tool: `--threads`, else `Runner.defaultThreads`).
public final class Runner {
    public let dataDirectory: String?
    public weak var observer: RunObserver?
    private var datasets: [String: Dataset] = [:]

    public init(dataDirectory: String?, observer: RunObserver?) {
        self.dataDirectory = dataDirectory
        self.observer = observer
    }

    /// The threads a run uses unless told otherwise: the CPUs this process may run on, capped in a
    /// Slurm job by the CPUs Slurm allocated (clusters without CPU binding let a job see them all).
    public static var defaultThreads: Int {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let env = ProcessInfo.processInfo.environment
        // SLURM_CPUS_PER_TASK when the job asked for it; else the job's CPUs on this node ("4" or "4(x2)").
        let slurm = env["SLURM_CPUS_PER_TASK"].flatMap { Int($0) }
            ?? env["SLURM_JOB_CPUS_PER_NODE"].flatMap { Int($0.prefix { $0.isNumber }) }
        if let slurm, slurm > 0 { return min(cpus, slurm) }
        return cpus
    }

    /// Loads (once) and returns the dataset a spec names.
    public func dataset(for spec: ExperimentSpec) throws -> Dataset {
        if let d = datasets[spec.dataset] { return d }
        let files = spec.datasetFiles
        // --data names MNIST's directory; other datasets have their own variable or location.
        let explicit = files.name == "mnist" ? dataDirectory : nil
        let d = try Dataset.load(files, directory: Dataset.resolveDirectory(explicit, files: files))
        datasets[spec.dataset] = d
        return d
    }

    /// Runs one plan. With `resume`, continues from its checkpoint when one exists for the same
    /// resolved spec. A run that diverges is recorded with status `diverged` and reported by the
    /// thrown error. The run directory is locked while it trains (`RunLock`): a run another
    /// process is training throws `RunLockHeld` and touches nothing.
    @discardableResult
    public func run(_ plan: RunPlan, resume: Bool) throws -> RunSummary {
        let spec = plan.spec
        let data = try dataset(for: spec)
        let lock = try RunLock(directory: plan.directory)
        defer { lock.release() }
        let trainer = Trainer(config: spec.trainingConfig(seed: plan.seed), train: data.train)
        AtomicFile.removeLeftovers(in: plan.directory)
        if resume, FileManager.default.fileExists(atPath: plan.checkpointPath) {
            let saved: TrainerState?
            do {
                let (state, specYAML) = try Checkpoint.load(path: plan.checkpointPath)
                saved = RunPlan.sameRun(specYAML, plan.resolvedYAML) ? state : nil
            } catch let e as DataError {
                throw DataError(plan.checkpointPath, "\(e.problem); delete it (rm \(plan.checkpointPath)) to start this run afresh")
            }
            if let saved {
                // Another --threads than the checkpoint's (`saved.engineThreads`) is the same run:
                // the numbers do not depend on the thread count (`GradientPartitions`,
                // `GEMMBlocks`), so a run stopped on one thread resumes on two, and the other way.
                do {
                    try trainer.restore(saved)
                } catch let e as DataError {
                    throw DataError(plan.checkpointPath, "\(e.problem); delete it (rm \(plan.checkpointPath)) to start this run afresh")
                }
            }
        }
        try AtomicFile.write(plan.resolvedYAML, to: plan.specPath)
        try Self.recordProvenance(plan, resumed: trainer.completedEpochs > 0)
        try? FileManager.default.removeItem(atPath: plan.summaryPath)
        observer?.runStarted(plan, resumedAt: trainer.completedEpochs, trainCount: trainer.trainSet.count,
                             validationCount: trainer.validationSet?.count ?? 0)
        let progress = RunProgressRecorder(directory: plan.directory, epochs: spec.epochs, resumedAt: trainer.completedEpochs)
        var status = RunSummary.Status.finished
        var failure: Error?
        while trainer.completedEpochs < spec.epochs {
            do {
                let record = try trainer.trainEpoch { [weak self] in
                    progress.batchFinished($0)
                    self?.observer?.batchFinished($0, of: plan)
                }
                try AtomicFile.write(trainer.history.csv, to: plan.historyPath)
                try AtomicFile.write(trainer.history.timingCSV, to: plan.timingPath)
                try Checkpoint.save(trainer.checkpointState(), specYAML: plan.resolvedYAML, to: plan.checkpointPath)
                progress.epochFinished(record)
                observer?.epochFinished(record, of: plan)
            } catch TrainingError.interrupted(let epoch, let batch) {
                // Keep the place in the epoch, so a resumed run is the run that was interrupted.
                try Checkpoint.save(trainer.checkpointState(), specYAML: plan.resolvedYAML, to: plan.checkpointPath)
                progress.finished(state: "interrupted")
                throw TrainingError.interrupted(epoch: epoch, batch: batch)
            } catch let error as TrainingError {
                status = .diverged
                failure = error
                break
            }
        }
        let test = status == .finished ? trainer.evaluate(data.test) : nil
        let summary = RunSummary(name: spec.name, paperCase: spec.paperCase, dataset: spec.dataset, seed: plan.seed,
                                 history: trainer.history, status: status, test: test)
        if status == .finished {
            try Checkpoint.saveModel(trainer.model, metadata: [
                "spec": plan.resolvedYAML, "epochs": String(trainer.completedEpochs),
                "test_accuracy": summary.testAccuracy.map { fixed($0, 3) } ?? "",
                "normalization": spec.normalization.rawValue, "dataset": spec.dataset,
            ], to: plan.modelPath)
        }
        try AtomicFile.write(trainer.history.csv, to: plan.historyPath)
        try AtomicFile.write(trainer.history.timingCSV, to: plan.timingPath)
        try AtomicFile.write(summary.csv, to: plan.summaryPath)
        progress.finished(state: status.rawValue)
        observer?.runFinished(summary, of: plan)
        if let failure { throw failure }
        return summary
    }

    /// Writes the run's provenance.txt (the commit, engine threads and CPU that train it). A run
    /// resumed by another build keeps its first lines and adds `resumed: COMMIT`.
    static func recordProvenance(_ plan: RunPlan, resumed: Bool) throws {
        let now = Provenance.current
        if resumed, let first = Provenance.read(path: plan.provenancePath),
           let text = try? String(contentsOfFile: plan.provenancePath, encoding: .utf8) {
            if first.commit == now.commit || text.contains("resumed: \(now.commit)\n") { return }
            try AtomicFile.write(text + "resumed: \(now.commit)\n", to: plan.provenancePath)
            return
        }
        try AtomicFile.write(now.text, to: plan.provenancePath)
    }
}
