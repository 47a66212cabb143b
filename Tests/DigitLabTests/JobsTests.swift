import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// `--jobs`: `reproduce` and `run --shard` training several runs at once in child processes. The
/// numbers must not depend on the scheduling (which runs train together, in which order), a
/// Ctrl-C must stop every child with its place saved, and the set must resume from there.
@Suite("Several runs at once (--jobs)", .serialized)
struct JobsTests {
    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// A sweep of two seeds of case 7 on 2,000 images for one epoch, in `dir`.
    static func twoSeeds(in dir: String) throws -> String {
        let spec = dir + "/two.yaml"
        try "extends: \(TestPaths.root)/experiments/case7.yaml\nname: two\ntraining:\n  epochs: 1\n  limit: 2000\n  seeds: [0, 1]\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        return spec
    }

    @Test("reproduce --jobs 2 trains two runs at once, byte for byte the runs --jobs 1 trains one after the other")
    func reproduceSameBytes() throws {
        let dir = TestPaths.temporaryDirectory("jobs-reproduce")
        let experiments = try TrustTests.quickCases(in: dir, epochs: [1, 1], limit: 2000)
        func reproduce(_ jobs: String) throws -> String {
            let out = dir + "/jobs-" + jobs
            let r = try runTool(["reproduce", "--experiments", experiments, "--data", TestPaths.mnist, "--out", out,
                                 "--threads", "1", "--jobs", jobs])
            #expect(r.status == 0, "--jobs \(jobs): \(r.stderr)")
            return r.stdout
        }
        let together = try reproduce("2"), alone = try reproduce("1")
        #expect(together.contains("up to 2 runs at once, 1 engine thread each"), "\(together)")
        // One line per finished run with the whole set's progress, after each run's own lines.
        #expect(together.contains("finished (1 done, 1 left, ETA ") && together.contains("finished (2 done, 0 left"), "\(together)")
        #expect(together.contains("[1/2] case1 seed 0: test accuracy") && together.contains("[2/2] case2 seed 0: test accuracy"), "\(together)")
        #expect(!alone.contains("at once"), "\(alone)")
        for name in ["case1", "case2"] {
            let run = "/runs/\(name)/seed-0/"
            let model = try #require(Self.contents(dir + "/jobs-2" + run + "model.safetensors"), "\(name): no model with --jobs 2")
            #expect(model == Self.contents(dir + "/jobs-1" + run + "model.safetensors"),
                    "\(name): model.safetensors with --jobs 2 differs from --jobs 1")
            #expect(Self.contents(dir + "/jobs-2" + run + "history.csv") == Self.contents(dir + "/jobs-1" + run + "history.csv"))
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/jobs-2/summary.csv"), "reproduce --jobs wrote no summary")
    }

    @Test("run --shard --jobs 2 stopped by Ctrl-C: exit 130 and how to resume, the first child stopped saves its place; resumed, the runs are byte for byte those of --jobs 1")
    func shardInterruptAndResume() throws {
        let dir = TestPaths.temporaryDirectory("jobs-shard")
        let spec = try Self.twoSeeds(in: dir)
        let shard = ["run", "--shard", "0/1", spec, "--data", TestPaths.mnist, "--threads", "1"]
        // Each child sends itself SIGINT after batch 26 (the handler a Ctrl-C takes): the set stops.
        let stopped = try runTool(shard + ["--out", dir + "/together", "--jobs", "2"], environment: ["DIGITLAB_INTERRUPT_AT": "1:26"])
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(stopped.stderr.contains("Resume with: digitlab run --shard 0/1") && stopped.stderr.contains("--jobs 2"), "\(stopped.stderr)")
        // The first child to reach batch 26 stops there; the parent then passes the stop on to the
        // other, which stops at its next batch (or at 26 by itself, if it got there first). The two
        // train the same work side by side, so the other can reach batch 26 at the moment the
        // parent's stop arrives: its own stop and the parent's then come together, and the second
        // quits at once (as a second Ctrl-C does), or the stop reaches it while it is still
        // starting. Either way it leaves no checkpoint in its first epoch, and resuming trains it
        // from the start, as the comparison with --jobs 1 below checks.
        var places: [Int] = []
        for seed in 0..<2 {
            let run = dir + "/together/runs/two/seed-\(seed)"
            #expect(!FileManager.default.fileExists(atPath: run + "/model.safetensors"), "seed \(seed): a model for an unfinished run")
            guard FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors") else { places.append(0); continue }
            let (state, _) = try Checkpoint.load(path: run + "/checkpoint.safetensors")
            places.append(state.pendingEpoch?.nextBatch ?? 0)
        }
        #expect(places.contains(26) && places.allSatisfy { $0 <= 26 }, "the checkpoints hold batches \(places), expected 26 and at most 26")

        let resumed = try runTool(shard + ["--out", dir + "/together", "--jobs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resuming"), "\(resumed.stdout)")
        let alone = try runTool(shard + ["--out", dir + "/alone", "--jobs", "1"])
        #expect(alone.status == 0, "\(alone.stderr)")
        for seed in 0..<2 {
            let file = "/runs/two/seed-\(seed)/model.safetensors"
            let model = try #require(Self.contents(dir + "/together" + file), "seed \(seed): no model after resuming")
            #expect(model == Self.contents(dir + "/alone" + file), "seed \(seed): stopped and resumed with --jobs 2, the model differs from --jobs 1's")
        }

        // All finished: nothing to start.
        let again = try runTool(shard + ["--out", dir + "/together", "--jobs", "2"])
        #expect(again.status == 0 && again.stdout.contains("2 already finished, 0 to train"), "\(again.stdout)")
    }

    @Test("--jobs: a number of at least 1 or auto, with --shard or reproduce only; one line saying so")
    func badJobs() throws {
        for (arguments, message) in [(["reproduce", "--jobs", "0"], "--jobs must be a number of at least 1, or auto"),
                                     (["reproduce", "--jobs", "many"], "--jobs must be a number of at least 1, or auto"),
                                     (["run", "experiments/case7.yaml", "--jobs", "2"], "--jobs goes with --shard"),
                                     (["run", "--task", "0", "experiments/sweeps/smoke-lr.yaml", "--jobs", "2"], "--jobs goes with --shard")] {
            let r = try runTool(arguments)
            #expect(r.status == 64, "\(arguments): \(r.status)")
            #expect(r.stderr.hasPrefix("Error: " + message), "\(arguments): \(r.stderr)")
        }
    }
}
