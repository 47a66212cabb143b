import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// A run directory is locked while a process trains it (issue 22): here another process really
/// holds the lock (flock(1), as a training `digitlab run` would hold it) and the tool is refused.
@Suite("Run lock: a run another process trains is refused or skipped", .serialized)
struct RunLockTests {
    /// A process holding `directory`'s run.lock, with its pid written there as `digitlab run` writes it.
    final class Holder {
        let process = Process()

        init(directory: String) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            // One process, no child: the shell locks the file on its own descriptor 9, then writes
            // its pid there and becomes `sleep`, keeping pid and lock (a child would outlive a
            // kill -9 of its parent).
            process.arguments = ["-c", "exec 9>>\"$1/run.lock\"; flock -x 9; echo $$ > \"$1/run.lock\"; exec sleep 120",
                                 "holder", directory]
            try process.run()
            // The pid appears once the lock is held. (Polling by taking the lock here would race
            // with the holder and could leave this process's pid in the file.)
            for _ in 0..<200 {
                if (try? String(contentsOfFile: directory + "/run.lock", encoding: .utf8)) == "\(process.processIdentifier)\n" { return }
                usleep(50_000)
            }
            Issue.record("the holder did not take \(directory)/run.lock within 10 s")
        }

        var pid: Int32 { process.processIdentifier }

        /// kill -9, as a crash would end it.
        func kill() {
            Foundation.kill(pid, SIGKILL)
            process.waitUntilExit()
        }

        deinit { if process.isRunning { kill() } }
    }

    @Test("run is refused with one line naming the holder's pid, exit 75, nothing written; reproduce and --shard skip the run")
    func refusedAndSkipped() throws {
        let dir = TestPaths.temporaryDirectory("run-lock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/results"
        let smoke = TestPaths.root + "/experiments/smoke.yaml"
        let spec = try ExperimentSpec.load(path: smoke)
        let plan = RunPlan(spec: spec, seed: spec.seed, resultsDirectory: out)
        let holder = try Holder(directory: plan.directory)

        // In this process: the library says who holds it.
        let held = #expect(throws: RunLockHeld.self) { try RunLock(directory: plan.directory) }
        #expect(held?.pid == holder.pid)

        let run = try runTool(["run", smoke, "--data", TestPaths.mnist, "--out", out])
        #expect(run.status == 75, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains("process \(holder.pid) is training this run")
                && run.stderr.contains(plan.directory) && run.stderr.contains("kill \(holder.pid)"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: plan.directory) == ["run.lock"])

        let shard = try runTool(["run", "--shard", "0/1", "--jobs", "1", "--data", TestPaths.mnist, "--out", out, smoke])
        #expect(shard.status == 0, "\(shard.stderr)")
        #expect(shard.stdout.contains("run 0: skipped, process \(holder.pid) is training it"), "\(shard.stdout)")

        // reproduce, on a directory of case specs whose one case is the held run.
        let experiments = dir + "/experiments"
        try FileManager.default.createDirectory(atPath: experiments, withIntermediateDirectories: true)
        try plan.resolvedYAML.write(toFile: experiments + "/case1.yaml", atomically: true, encoding: .utf8)
        let caseSpec = try ExperimentSpec.load(path: experiments + "/case1.yaml")
        #expect(RunPlan(spec: caseSpec, seed: 0, resultsDirectory: out).directory == plan.directory)
        let reproduce = try runTool(["reproduce", "--experiments", experiments, "--seeds", "1", "--jobs", "1", "--data", TestPaths.mnist, "--out", out])
        #expect(reproduce.status == 0, "\(reproduce.stderr)")
        #expect(reproduce.stdout.contains("seed 0: skipped, process \(holder.pid) is training it"), "\(reproduce.stdout)")
        #expect(!FileManager.default.fileExists(atPath: plan.specPath), "a skipped run was written to")

        // The lock dies with its holder: after kill -9 nothing stale is left to refuse the run.
        holder.kill()
        let lock = try RunLock(directory: plan.directory)
        let written = try String(contentsOfFile: plan.directory + "/run.lock", encoding: .utf8)
        #expect(written == "\(getpid())\n")
        lock.release()
    }
}
