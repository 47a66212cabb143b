import ArgumentParser
import DigitLab
import Foundation

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a sweep's runs to Slurm as a job array, one task per run.",
        discussion: """
            Expands the specs as `digitlab plan` does and writes RESULTS/slurm/NAME.sbatch: a job \
            array with one task per run that has not finished (`#SBATCH --array`), each running \
            `digitlab run --task ID`, logging to RESULTS/slurm/NAME-JOB_TASK.out. The script asks \
            Slurm for a warning signal before the time limit (--signal-seconds); a task that gets \
            it saves its place in the epoch and requeues itself, and resumes from there when \
            Slurm starts it again (--requeue). Then submits it with sbatch, unless --dry-run, \
            and prints the job id. Run it from the repository's top directory on a login node; \
            the tasks run there too, so it must be on a file system the compute nodes share.

            When tasks have run (or some have failed), `digitlab report SPEC...` aggregates the \
            finished runs and says which are missing; running the same sweep command again \
            submits only the runs that have not finished.

            Examples:
              digitlab sweep --slurm --dry-run experiments/sweeps/case7-lr.yaml
              digitlab sweep --slurm --partition short --time 1:00:00 --cpus-per-task 4 --array-parallelism 8 experiments/case*.yaml
            """)

    @Flag(help: "Submit to Slurm (the one scheduler supported; without Slurm, see `digitlab run --shard`).")
    var slurm = false

    @Option(help: "Slurm partition (default: the cluster's).")
    var partition: String?

    @Option(help: ArgumentHelp("Time limit per task, in Slurm's format (minutes, HH:MM:SS, D-HH:MM).", valueName: "time"))
    var time: String?

    @Option(help: "CPUs per task; digitlab uses them all.")
    var cpusPerTask: Int?

    @Option(help: ArgumentHelp("Memory per task, in Slurm's format (e.g. 4G).", valueName: "size"))
    var mem: String?

    @Option(help: "Slurm account to charge.")
    var account: String?

    @Option(help: "Slurm quality of service.")
    var qos: String?

    @Option(help: "At most this many tasks at once (--array=...%K).")
    var arrayParallelism: Int?

    @Option(help: "Seconds before the time limit at which Slurm warns a task to save and requeue (Slurm may warn up to a minute earlier).")
    var signalSeconds: Int = 90

    @Option(name: .customLong("sbatch-option"), help: ArgumentHelp(
        "Another #SBATCH option, verbatim; repeatable.", discussion: "Example: --sbatch-option=--constraint=avx512", valueName: "option"))
    var sbatchOptions: [String] = []

    @Option(help: "Engine threads per task (default: the CPUs Slurm allocates).")
    var threads: Int?

    @Option(help: "The job's name, which also names the script and logs (default: the specs' file names).")
    var jobName: String?

    @Flag(help: "Write the script and print it (to standard output; the rest goes to standard error), without submitting.")
    var dryRun = false

    @Flag(help: "Print only the job id (for scripts).")
    var parsable = false

    @OptionGroup var sweep: SweepSpecs

    @OptionGroup var data: DataOptions

    func validate() throws {
        guard slurm else {
            throw ValidationError("Say where the runs go: --slurm. Without Slurm, split the plan yourself: `digitlab run --shard I/N SPEC...` on each of N machines or processes.")
        }
        for (name, value) in [("--cpus-per-task", cpusPerTask), ("--array-parallelism", arrayParallelism), ("--threads", threads)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1.") }
        }
        if signalSeconds < 0 || signalSeconds > 65535 { throw ValidationError("--signal-seconds must be from 0 to 65535.") }
        if let jobName, jobName.isEmpty || jobName.contains("/") || jobName.contains(" ") {
            throw ValidationError("--job-name must be a plain name (no slashes or spaces).")
        }
    }

    func run() throws {
        do {
            let plan = try sweep.plan(results: data.results)
            let pending = plan.runs.filter { !$0.plan.isFinished }
            let name = jobName ?? plan.name
            // With --parsable, standard output carries only the job id; with --dry-run, only the script.
            let tell: (String) -> Void = parsable || dryRun ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { say($0) }
            tell("sweep \(name): \(plan.runs.count) runs (\(plan.shape)), \(plan.runs.count - pending.count) finished, \(pending.count) to submit")
            if pending.isEmpty {
                tell("nothing to submit: every planned run has finished; `digitlab report \(sweep.specs.joined(separator: " "))` writes the table")
                return
            }
            let cwd = FileManager.default.currentDirectoryPath
            func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : cwd + "/" + path }
            // The tasks need MNIST where they run; say so now rather than in every task's log.
            let datasets = Set(plan.runs.map(\.plan.spec.dataset))
            var dataDirectory = data.directory ?? ProcessInfo.processInfo.environment["DIGITLAB_DATA"].flatMap { $0.isEmpty ? nil : $0 }
            if datasets.contains("mnist") {
                let dir = Dataset.resolveDirectory(dataDirectory, files: .mnist)
                let file = dir + "/" + DatasetFiles.mnist.trainImages.file
                guard FileManager.default.fileExists(atPath: file + ".gz") || FileManager.default.fileExists(atPath: file) else {
                    throw DataError(dir, "no MNIST files here; the tasks would all fail. Run `make data`, or pass --data DIR (or DIGITLAB_DATA=DIR)")
                }
                dataDirectory = absolute(dir)
            }
            let logs = absolute(data.results) + "/slurm"
            var script = SlurmScript(jobName: name, taskIDs: pending.map(\.id), workingDirectory: cwd, logDirectory: logs,
                                     executable: SelfExecutable.path, specFiles: sweep.specs, resultsDirectory: data.results,
                                     planDigest: plan.digest)
            script.seedCount = sweep.seeds
            script.arrayParallelism = arrayParallelism
            script.partition = partition
            script.time = time
            script.cpusPerTask = cpusPerTask
            script.memory = mem
            script.account = account
            script.qos = qos
            script.signalSeconds = signalSeconds
            script.extraOptions = sbatchOptions
            script.threads = threads
            script.dataDirectory = dataDirectory
            // The same sweep still queued or running would train its unfinished runs twice at once.
            if !dryRun, let queued = Self.queuedJobs(named: name), !queued.isEmpty {
                throw DataError("sweep", "job \(queued.joined(separator: ", ")) named \(name) is still queued or running, and would train "
                                + "the same runs: wait for it (squeue --me), cancel it (scancel \(queued[0])), or give this one another --job-name")
            }
            if !dryRun, let maxArray = Self.maxArraySize(), let top = pending.last?.id, top >= maxArray {
                throw DataError("sweep", "task id \(top) is beyond this cluster's MaxArraySize (\(maxArray)): split the specs into several sweeps")
            }
            let path = logs + "/" + name + ".sbatch"
            try AtomicFile.write(script.text, to: path)
            chmod(path, 0o755)
            if dryRun {
                print(script.text, terminator: "")
                tell("wrote \(path) (not submitted); submit it with: sbatch \(path)")
                return
            }
            let jobID = try Self.submit(path)
            if parsable { print(jobID); return }
            tell("submitted job array \(jobID): \(pending.count) tasks (ids \(script.arraySpec)); logs in \(logs)/\(name)-\(jobID)_ID.out")
            tell("follow it with `squeue -j \(jobID)`; when tasks have finished: digitlab report \(sweep.specs.map(shellQuote).joined(separator: " "))")
        } catch {
            fail(error)
        }
    }

    /// The ids of this user's jobs of that name still in the queue, if squeue answers.
    static func queuedJobs(named name: String) -> [String]? {
        guard let out = try? capture(["squeue", "--me", "--noheader", "--name", name, "--format", "%A"]), out.status == 0 else { return nil }
        var seen: [String] = []
        for id in out.stdout.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !id.isEmpty && !seen.contains(id) {
            seen.append(id)
        }
        return seen
    }

    /// The cluster's MaxArraySize (array ids must be below it), if scontrol says.
    static func maxArraySize() -> Int? {
        guard let out = try? capture(["scontrol", "show", "config"]), out.status == 0 else { return nil }
        for line in out.stdout.split(separator: "\n") where line.hasPrefix("MaxArraySize") {
            return line.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    /// Submits a script with `sbatch --parsable`; returns the job id.
    static func submit(_ path: String) throws -> String {
        let out: (status: Int32, stdout: String, stderr: String)
        do {
            out = try capture(["sbatch", "--parsable", path])
        } catch {
            throw DataError("sbatch", "could not run it (\(error)); is this a Slurm login node? --dry-run writes the script without submitting")
        }
        if out.status == 127 {
            throw DataError("sbatch", "not found on PATH; is this a Slurm login node? --dry-run writes the script without submitting")
        }
        guard out.status == 0, let id = out.stdout.split(separator: "\n").last?.split(separator: ";").first, !id.isEmpty else {
            throw DataError("sbatch", "refused \(path): " + out.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(id).trimmingCharacters(in: .whitespaces)
    }

    /// Runs a command found on PATH; returns its status and output.
    static func capture(_ command: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
