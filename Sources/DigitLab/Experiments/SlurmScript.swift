import Foundation

/// The sbatch script of a sweep: a Slurm job array with one task per planned run, each task
/// running `digitlab run --task $SLURM_ARRAY_TASK_ID` on the same spec files.
///
/// What it asks of Slurm, as Hydra's submitit launcher does: a limit on how many tasks run at
/// once (`%K`), a warning signal before the time limit (`--signal=B:USR1@S`), and requeueing. The
/// warning goes to the batch shell, which passes it on to digitlab; digitlab stops at the next
/// batch and saves its place in the epoch, and the shell requeues the task with `scontrol
/// requeue`. When Slurm starts it again, the task resumes from that place, so the finished run is
/// the one an uninterrupted run would have made. Tasks whose run has finished exit at once.
public struct SlurmScript: Sendable {
    /// The job's name in `squeue`; also names the script and its log files.
    public var jobName: String
    /// The array task ids to run (the plan's unfinished runs).
    public var taskIDs: [Int]
    /// At most this many tasks at once (`--array=...%K`).
    public var arrayParallelism: Int?
    public var partition: String?
    /// Slurm's time format: minutes, MM:SS, HH:MM:SS, D-HH:MM, ...
    public var time: String?
    public var cpusPerTask: Int?
    /// Slurm's memory format: 4G, 4000M, ...
    public var memory: String?
    public var account: String?
    public var qos: String?
    /// Seconds before the time limit at which Slurm sends the warning (it may come up to a minute earlier).
    public var signalSeconds: Int = 90
    /// Further `#SBATCH` options, verbatim (e.g. `--constraint=avx512`).
    public var extraOptions: [String] = []
    /// Absolute: the directory the tasks run in (the repository), and where their logs go.
    public var workingDirectory: String
    public var logDirectory: String
    /// Absolute path of the digitlab executable the tasks run.
    public var executable: String
    /// The spec files, as given (relative to `workingDirectory`): runs record them in their resolved specs.
    public var specFiles: [String]
    public var seedCount: Int?
    public var resultsDirectory: String
    /// MNIST's directory for the tasks (`DIGITLAB_DATA`), when set at submission.
    public var dataDirectory: String?
    /// Engine threads per task; by default the tasks use the CPUs Slurm gives them.
    public var threads: Int?
    /// The plan's digest: a task refuses to run if the specs now plan something else.
    public var planDigest: String

    public init(jobName: String, taskIDs: [Int], workingDirectory: String, logDirectory: String, executable: String,
                specFiles: [String], resultsDirectory: String, planDigest: String) {
        self.jobName = jobName; self.taskIDs = taskIDs; self.workingDirectory = workingDirectory
        self.logDirectory = logDirectory; self.executable = executable; self.specFiles = specFiles
        self.resultsDirectory = resultsDirectory; self.planDigest = planDigest
    }

    /// `--array`'s value: the ids as ranges, with `%K` when parallelism is limited.
    public var arraySpec: String {
        SweepPlan.ranges(taskIDs) + (arrayParallelism.map { "%\($0)" } ?? "")
    }

    /// Where task I of job J writes its output (`%A` and `%a` are Slurm's job and task ids).
    public var outputPattern: String { "\(logDirectory)/\(jobName)-%A_%a.out" }

    /// The command each task runs, with the task id left to the shell.
    public var taskCommand: String {
        var args = [shellQuote(executable), "run", "--task", "\"$task\"", "--expect-plan", planDigest,
                    "--out", shellQuote(resultsDirectory)]
        if let seedCount { args += ["--seeds", String(seedCount)] }
        if let threads { args += ["--threads", String(threads)] }
        if let dataDirectory { args += ["--data", shellQuote(dataDirectory)] }
        return (args + specFiles.map(shellQuote)).joined(separator: " ")
    }

    public var text: String {
        var lines = [
            "#!/bin/bash",
            "# Written by `digitlab sweep --slurm`: one array task per planned run of",
            "#   digitlab plan" + (seedCount.map { " --seeds \($0)" } ?? "") + " " + specFiles.map(shellQuote).joined(separator: " "),
            "# (plan \(planDigest)). Submit with: sbatch \(shellQuote(logDirectory + "/" + jobName + ".sbatch"))",
            "#SBATCH --job-name=\(jobName)",
            "#SBATCH --array=\(arraySpec)",
            "#SBATCH --output=\(outputPattern)",
            "#SBATCH --open-mode=append",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:USR1@\(signalSeconds)",
            "#SBATCH --chdir=\(workingDirectory)",
            "#SBATCH --ntasks=1",
        ]
        if let cpusPerTask { lines.append("#SBATCH --cpus-per-task=\(cpusPerTask)") }
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        if let time { lines.append("#SBATCH --time=\(time)") }
        if let memory { lines.append("#SBATCH --mem=\(memory)") }
        if let account { lines.append("#SBATCH --account=\(account)") }
        if let qos { lines.append("#SBATCH --qos=\(qos)") }
        for option in extraOptions { lines.append("#SBATCH \(option)") }
        lines += [
            "",
            "set -u",
            "task=${SLURM_ARRAY_TASK_ID:?this script is a Slurm job array: submit it with sbatch}",
            "job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}",
            "echo \"== task $task (job $job, Slurm job id $SLURM_JOB_ID) on $(hostname), attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )), $(date -u +%FT%TZ)\"",
            "",
            "# Slurm's warning before the time limit (--signal above) comes to this shell: pass it on to",
            "# digitlab, which stops at the next batch and saves its place, then requeue the task, which",
            "# resumes from there when Slurm starts it again. SIGTERM (the time limit itself, scancel,",
            "# preemption) reaches digitlab directly; the shell only waits for it to finish saving.",
            "pid=",
            "warned=0",
            "trap 'warned=1; [ -n \"$pid\" ] && kill -USR1 \"$pid\" 2>/dev/null' USR1",
            "trap ':' TERM",
            taskCommand + " &",
            "pid=$!",
            "[ \"$warned\" = 1 ] && kill -USR1 \"$pid\" 2>/dev/null",
            "while :; do wait \"$pid\"; status=$?; kill -0 \"$pid\" 2>/dev/null || break; done",
            "wait \"$pid\"; status=$?",
            "if [ \"$warned\" = 1 ] && [ \"$status\" = 130 ]; then",
            "  echo \"== task $task saved its place; requeueing $job\"",
            "  scontrol requeue \"$job\" && exit 0",
            "  echo \"== scontrol requeue failed; resubmit the sweep to resume this run\" >&2",
            "fi",
            "exit \"$status\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `s` quoted for a POSIX shell when it needs to be.
public func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.range(of: #"^[A-Za-z0-9_./:=+,@%-]+$"#, options: .regularExpression) != nil { return s }
    return "'" + s.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
