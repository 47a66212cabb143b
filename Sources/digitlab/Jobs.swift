import ArgumentParser
import DigitLab
import Foundation

/// How `--jobs auto` trains a set of runs: on a machine type measured to train more epochs an
/// hour with several runs at once, `cores / T` runs at once on T threads each (on at least twice
/// T cores); elsewhere one run at a time on all the cores.
///
/// Where the figures come from: `scripts/jobs-throughput.sh`, which times on a quiet machine one
/// 2-thread run against two simultaneous 1-thread runs (case 7, epochs per hour) and writes
/// `results/bench/<cpu>/jobs.txt`. A machine type joins `measured` only where that file shows the
/// 1-thread runs ahead. It changes only the speed: a run's numbers do not depend on its thread
/// count (`GradientPartitions`, `GEMMBlocks`), so `reproduce` produces the record's bytes either
/// way.
enum JobsDefault {
    /// Threads per run by CPU ("family F model M", from /proc/cpuinfo, as `Provenance` records
    /// it): the Zen 4 (AMD family 25 model 17), 1.13x and 1.05x the epochs an hour with two
    /// 1-thread runs at once in two sittings (results/bench/zen4/jobs-b1a8d17.txt and
    /// jobs-08b8eac.txt; 1.04x with the zero-skipping engine, jobs.txt), and the Zen 5 (AMD family
    /// 26 model 2), 1.11x and 1.09x (results/bench/zen5/jobs-5198283.txt and jobs.txt), idle
    /// machines. The Zen 3 and the Xeon are not measured with the thread-independent engine.
    static let measured: [String: Int] = ["family 25 model 17": 1, "family 26 model 2": 1]

    /// The threads per run `--jobs auto` uses on this machine, or nil for one run at a time.
    static var threadsPerRun: Int? {
        let cpu = Provenance.cpuDescription()
        return measured.first { cpu.hasSuffix("(\($0.key))") }?.value
    }
}

/// `--jobs`, for the commands that train a set of runs (`reproduce`, `run --shard`).
struct JobsOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Runs to train at once, each in a process of its own: a number, or auto (the default).",
        discussion: """
            With N above 1 each run gets --threads threads (default: the cores divided by N). \
            The numbers depend neither on a run's thread count nor on which runs train together: \
            the same seed gives the same bytes with any --threads and --jobs. auto: on a CPU measured to \
            train more epochs an hour with several runs at once (scripts/jobs-throughput.sh; so far the \
            AMD Zen 4 and Zen 5, family 25 model 17 and family 26 model 2: two 1-thread runs on 2 cores), \
            that many; elsewhere, or \
            with --threads given, one at a time on all cores.
            """, valueName: "N|auto"))
    var jobs: String?

    func validate() throws {
        if let jobs, jobs != "auto" && (Int(jobs) ?? 0) < 1 {
            throw ValidationError("--jobs must be a number of at least 1, or auto (got '\(jobs)').")
        }
    }

    /// How many runs at once and on how many threads each, given --threads and the cores.
    func schedule(threads: Int?, cores: Int = Runner.defaultThreads) -> (jobs: Int, threadsPerRun: Int) {
        if let n = jobs.flatMap({ Int($0) }) { return (n, threads ?? max(1, cores / n)) }
        if threads == nil, let t = JobsDefault.threadsPerRun, cores >= 2 * t { return (cores / t, t) }
        return (1, threads ?? cores)
    }
}

/// One run a child process trains: `digitlab ARGUMENTS` (a `run` command), named by `label` in
/// the progress lines.
struct ChildRun {
    let label: String
    let arguments: [String]
    /// The run it trains: finished when the child exits 0, unless the child found it held.
    let plan: RunPlan
}

/// Trains runs in child processes of this same binary, up to `jobs` at once, each locking its run
/// directory as any `digitlab run` does. Each child's output lines come through prefixed with its
/// place in the set ("[3/16] "); a finished run adds a line with the whole set's progress (runs
/// done, left, and the time left at the pace so far).
///
/// Interruption: the children run in a process group of their own, so a terminal's Ctrl-C reaches
/// only this process, which passes the signal on to each child once; each then saves its place as
/// a lone run does, and the set resumes where it stopped when run again. A second signal is passed
/// on too (the children quit at once, keeping their last completed epoch).
enum ParallelRuns {
    /// What became of the set.
    struct Outcome {
        var finished = 0
        var skipped: [String] = []
        var failures: [String] = []
        /// A signal stopped the set (or one of its runs).
        var interrupted = false
    }

    /// Trains `runs` in child processes, up to `jobs` at once, in the order given; no new run
    /// starts after a signal or after a child was interrupted, and the ones running are stopped.
    static func train(_ runs: [ChildRun], jobs: Int) -> Outcome {
        let executable = SelfExecutable.path
        let state = SharedState()
        Interruption.install { sig in state.relay(sig) }
        let started = Date()
        var outcome = Outcome()
        var next = 0
        let total = runs.count
        while true {
            while state.running < jobs, next < runs.count, !state.stopping {
                let index = next
                next += 1
                let prefix = "[\(index + 1)/\(total)] "
                do {
                    try launch(executable, runs[index], prefix: prefix, index: index, state: state)
                } catch {
                    outcome.failures.append("\(runs[index].label): could not start: \(error)")
                }
            }
            guard let (index, status, stderr) = state.waitForExit() else { break }
            let run = runs[index], prefix = "[\(index + 1)/\(total)] "
            switch status {
            case 0 where !run.plan.isFinished:
                // `run --task` says so itself when another process holds the run (and exits 0).
                outcome.skipped.append(run.label)
            case 0:
                outcome.finished += 1
                for line in stderr { warn(prefix + line) }
                say("\(prefix)\(run.label): finished (\(overallETA(done: outcome.finished, total: total - outcome.skipped.count, since: started).dropFirst(2)))")
            case 75:
                let why = stderr.last.map { $0.replacingOccurrences(of: "error: ", with: "") } ?? "another process is training it"
                outcome.skipped.append(run.label)
                say("\(prefix)\(run.label): skipped, \(why)")
            case 130, -SIGINT, -SIGTERM, -SIGUSR1:
                outcome.interrupted = true
                if !state.stopping { state.relay(SIGINT) }
            default:
                for line in stderr { warn(prefix + line) }
                outcome.failures.append("\(run.label): " + (stderr.last(where: { $0.hasPrefix("error: ") }).map { String($0.dropFirst(7)) }
                                                              ?? (status < 0 ? "killed by signal \(-status)" : "exit status \(status)")))
            }
        }
        outcome.interrupted = outcome.interrupted || state.stopping
        return outcome
    }

    /// After an interrupted set: says how to resume (the same command) and exits with status 130.
    static func exitIfInterrupted(_ outcome: Outcome) {
        guard outcome.interrupted else { return }
        FileHandle.standardError.write(Data(("stopped: interrupted; the runs in progress saved their place. Resume with: digitlab "
            + CommandLine.arguments.dropFirst().joined(separator: " ") + " (finished runs are skipped, stopped ones resume)\n").utf8))
        Foundation.exit(130)
    }

    /// Starts one child in a process group of its own, its output read by two threads.
    private static func launch(_ executable: String, _ run: ChildRun, prefix: String, index: Int, state: SharedState) throws {
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw DataError("pipe", String(cString: strerror(errno))) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in [out[0], out[1], err[0], err[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group (the terminal's signals reach the parent only, which passes them on
        // once); default dispositions and no blocked signals, whatever this process set.
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&defaults, sig) }
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + run.arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let code = state.whileHoldingLock { posix_spawn(&pid, executable, &actions, &attributes, argv, environ) }
        close(out[1])
        close(err[1])
        guard code == 0 else {
            close(out[0])
            close(err[0])
            throw DataError(executable, "cannot be started: \(String(cString: strerror(code)))")
        }
        let child = pid
        state.started(pid: child, index: index)
        let readers = DispatchGroup()
        let stderrLines = LineBuffer()
        let (outRead, errRead) = (out[0], err[0])
        DispatchQueue.global().async(group: readers) { readLines(outRead) { say(prefix + $0) } }
        DispatchQueue.global().async(group: readers) { readLines(errRead) { stderrLines.append($0) } }
        DispatchQueue.global().async {
            readers.wait()
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG by hand (macros Swift does not import).
            let signal = status & 0x7f
            state.exited(pid: child, status: signal == 0 ? (status >> 8) & 0xff : -signal, stderr: stderrLines.lines)
        }
    }

    /// Calls `line` with each line read from `fd` until its end, then closes it.
    private static func readLines(_ fd: Int32, _ line: (String) -> Void) {
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending = Data(pending[(newline + 1)...])
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
        close(fd)
    }

    private static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A child's standard error, kept until it exits.
    private final class LineBuffer: @unchecked Sendable {
        private let lock = NSLock()
        private var kept: [String] = []
        func append(_ line: String) { lock.lock(); kept.append(line); lock.unlock() }
        var lines: [String] { lock.lock(); defer { lock.unlock() }; return kept }
    }

    /// The children in flight and the exits not yet taken, shared by the reader threads, the
    /// signal handler and the scheduling loop.
    private final class SharedState: @unchecked Sendable {
        private let condition = NSCondition()
        private var pids: [pid_t: Int] = [:]
        private var exits: [(index: Int, status: Int32, stderr: [String])] = []
        private var relayed = 0

        var running: Int { condition.lock(); defer { condition.unlock() }; return pids.count }
        var stopping: Bool { condition.lock(); defer { condition.unlock() }; return relayed > 0 }

        /// Spawning under the lock: a signal relayed meanwhile waits for the new child's pid.
        func whileHoldingLock<T>(_ body: () -> T) -> T { condition.lock(); defer { condition.unlock() }; return body() }

        func started(pid: pid_t, index: Int) {
            condition.lock()
            pids[pid] = index
            // A signal that came while it was starting: pass it on now.
            if relayed > 0 { kill(pid, SIGINT) }
            condition.unlock()
        }

        func exited(pid: pid_t, status: Int32, stderr: [String]) {
            condition.lock()
            if let index = pids.removeValue(forKey: pid) { exits.append((index, status, stderr)) }
            condition.signal()
            condition.unlock()
        }

        /// The next child's exit, or nil when none is running and none is left to take.
        func waitForExit() -> (Int, Int32, [String])? {
            condition.lock()
            defer { condition.unlock() }
            while exits.isEmpty && !pids.isEmpty { condition.wait() }
            return exits.isEmpty ? nil : exits.removeFirst()
        }

        /// Passes a signal on to every running child; no new run starts after it.
        func relay(_ sig: Int32) {
            condition.lock()
            relayed += 1
            for pid in pids.keys { kill(pid, sig) }
            condition.unlock()
        }
    }
}
