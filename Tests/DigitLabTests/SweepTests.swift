import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// Sweeps: grids in specs, their expansion into runs with stable ids, shards, the Slurm script,
/// and which runs count as finished.
@Suite("Sweeps")
struct SweepTests {
    /// A directory with a copy of base.yaml and the given specs (file name to YAML).
    func specs(_ files: [String: String]) -> String {
        let dir = TestPaths.temporaryDirectory("sweep")
        try? FileManager.default.copyItem(atPath: TestPaths.root + "/experiments/base.yaml", toPath: dir + "/base.yaml")
        for (name, yaml) in files { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(yaml.utf8)) }
        return dir
    }

    static let lrRotation = """
        extends: base.yaml
        name: s
        training:
          seeds: [0, 1]
        grid:
          optimizer.learning_rate: [0.001, 5e-4, 0.0002]
          augmentation:
            rotation_range: [0, 10]
        """

    /// The error loading a spec with this YAML gives.
    func gridError(_ yaml: String) -> SpecError? {
        let dir = specs(["g.yaml": yaml])
        do {
            _ = try SweepPlan.expand(specFiles: [dir + "/g.yaml"], resultsDirectory: dir + "/results")
            return nil
        } catch let e as SpecError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("a grid times the seeds: every combination, last key fastest, seed-major, with readable names")
    func expansion() throws {
        let dir = specs(["s.yaml": Self.lrRotation])
        let plan = try SweepPlan.expand(specFiles: [dir + "/s.yaml"], resultsDirectory: dir + "/results")
        #expect(plan.runs.count == 12)
        #expect(plan.runs.map(\.id) == Array(0..<12))
        #expect(plan.runs.prefix(6).allSatisfy { $0.seed == 0 } && plan.runs.suffix(6).allSatisfy { $0.seed == 1 })
        #expect(plan.runs[0].label == "s+learning_rate=0.001,rotation_range=0/seed-0")
        #expect(plan.runs[1].label == "s+learning_rate=0.001,rotation_range=10/seed-0")
        #expect(plan.runs[2].label == "s+learning_rate=5e-4,rotation_range=0/seed-0")
        #expect(plan.runs[11].label == "s+learning_rate=0.0002,rotation_range=10/seed-1")
        #expect(plan.runs[3].plan.directory == dir + "/results/runs/s+learning_rate=5e-4,rotation_range=10/seed-0")
        #expect(plan.runs[3].settingsText == "optimizer.learning_rate=5e-4, augmentation.rotation_range=10")
        // Each run's spec carries its grid point and no grid.
        let spec = plan.runs[3].plan.spec
        #expect(spec.optimizer.learningRate == 5e-4 && spec.augmentation.rotationRange == 10 && spec.grid.isEmpty)
        #expect(plan.runs[3].plan.resolvedYAML.contains("learning_rate: 5e-4") && !plan.runs[3].plan.resolvedYAML.contains("grid"))
        #expect(plan.shape == "1 spec: 6 settings x 2 seeds")
    }

    @Test("ids are stable: the same specs give the same runs, ids and digest every time")
    func stableIDs() throws {
        let dir = specs(["s.yaml": Self.lrRotation, "t.yaml": "extends: base.yaml\nname: t\ntraining:\n  seeds: [4, 5, 6]\n"])
        let files = [dir + "/s.yaml", dir + "/t.yaml"]
        let a = try SweepPlan.expand(specFiles: files, resultsDirectory: "results")
        let b = try SweepPlan.expand(specFiles: files, resultsDirectory: "results")
        #expect(a.runs.map(\.label) == b.runs.map(\.label))
        #expect(a.digest == b.digest && a.digest.count == 12)
        // Seed-major across specs: round 0 is s's six points then t's first seed; t alone has a third seed.
        #expect(a.runs.count == 12 + 3)
        #expect(a.runs[6].label == "t/seed-4" && a.runs[13].label == "t/seed-5" && a.runs[14].label == "t/seed-6")
        // --seeds N replaces every spec's seeds with 0..<N.
        let c = try SweepPlan.expand(specFiles: files, seedCount: 1, resultsDirectory: "results")
        #expect(c.runs.map(\.label) == a.runs.prefix(6).map(\.label) + ["t/seed-0"])
        #expect(c.digest != a.digest)
        // Another order of the files is another plan.
        let d = try SweepPlan.expand(specFiles: files.reversed(), resultsDirectory: "results")
        #expect(d.runs[0].label == "t/seed-4" && d.digest != a.digest)
    }

    @Test("a spec without a grid is one run per seed, in results/runs/NAME as `run` and `reproduce` write it")
    func noGrid() throws {
        let plan = try SweepPlan.expand(specFiles: [TestPaths.root + "/experiments/case1.yaml"], resultsDirectory: "results")
        // The seeds experiments/base.yaml lists (written once, there).
        let seeds = try #require(try ExperimentSpec.load(path: TestPaths.root + "/experiments/case1.yaml").seeds)
        #expect(seeds.count >= 2)
        #expect(plan.runs.map(\.label) == seeds.map { "case1/seed-\($0)" })
        #expect(plan.runs[1].plan.directory == "results/runs/case1/seed-1")
        #expect(plan.runs[1].variant == nil && plan.runs[1].settings.isEmpty)
    }

    @Test("grid errors name the grid key, the file and the line, and say what was expected")
    func gridErrors() throws {
        let head = "extends: base.yaml\nname: g\ngrid:\n"
        let unknown = try #require(gridError(head + "  optimizer.learnig_rate: [0.001]\n"))
        #expect(unknown.key == "grid.optimizer.learnig_rate" && unknown.line == 4)
        #expect(unknown.problem.contains("unknown key") && unknown.problem.contains("did you mean grid.optimizer.learning_rate"))
        #expect(unknown.description.contains("g.yaml:4"))

        let value = try #require(gridError(head + "  optimizer.learning_rate:\n    - 0.001\n    - 2e6\n"))
        #expect(value.key == "grid.optimizer.learning_rate" && value.line == 6)
        #expect(value.problem.contains("expected a number above 0 to 1000000") && value.problem.contains("\"2e6\""))

        let type = try #require(gridError(head + "  augmentation.horizontal_flip: [true, sometimes]\n"))
        #expect(type.key == "grid.augmentation.horizontal_flip" && type.problem.contains("true or false"))

        let notList = try #require(gridError(head + "  optimizer.learning_rate: 0.001\n"))
        #expect(notList.key == "grid.optimizer.learning_rate" && notList.problem.contains("list of values"))

        let empty = try #require(gridError(head + "  optimizer.learning_rate: []\n"))
        #expect(empty.key == "grid.optimizer.learning_rate")

        let twice = try #require(gridError(head + "  optimizer.learning_rate: [0.001, 0.001]\n"))
        #expect(twice.problem.contains("appears twice"))

        let seeds = try #require(gridError(head + "  training.seed: [0, 1]\n"))
        #expect(seeds.key == "grid.training.seed" && seeds.problem.contains("training.seeds"))

        let name = try #require(gridError(head + "  name: [a, b]\n"))
        #expect(name.key == "grid.name" && name.problem.contains("cannot be swept"))

        let notMap = try #require(gridError(String(head.dropLast()) + " [0.001, 0.0005]\n"))
        #expect(notMap.key == "grid" && notMap.problem.contains("map"))

        // A list-valued key takes a list of lists.
        let flat = try #require(gridError(head + "  model.dense_units: [64, 32, 10]\n"))
        #expect(flat.key == "grid.model.dense_units" && flat.problem.contains("[[64, 32, 10]"))
        let dir = specs(["d.yaml": head + "  model.dense_units: [[64, 32, 10], [64, 64, 32, 10]]\n"])
        let plan = try SweepPlan.expand(specFiles: [dir + "/d.yaml"], seedCount: 1)
        #expect(plan.runs.map(\.name) == ["g+dense_units=64-32-10", "g+dense_units=64-64-32-10"])
        #expect(plan.runs[1].plan.spec.architecture.paper?.denseUnits == [64, 64, 32, 10])

        // A value valid alone but not with the spec's other keys names the grid key too.
        let layers = try #require(gridError("extends: base.yaml\nname: g\nmodel:\n  dense_units: [64, 64, 32, 10]\n"
                                            + "regularization:\n  l2_layers: [dense4]\n"
                                            + "grid:\n  model.dense_units: [[64, 64, 32, 10], [64, 32, 10]]\n"))
        #expect(layers.key == "grid.model.dense_units")
        #expect(layers.problem.contains("with model.dense_units = 64-32-10") && layers.problem.contains("dense4"))
    }

    @Test("a run's directory is its own: two specs with one name, or a spec listed twice, are refused")
    func clashes() throws {
        let dir = specs(["a.yaml": "extends: base.yaml\nname: same\n", "b.yaml": "extends: base.yaml\nname: same\nregularization:\n  l2_factor: 0.1\n"])
        #expect(throws: SpecError.self) { try SweepPlan.expand(specFiles: [dir + "/a.yaml", dir + "/b.yaml"]) }
        #expect(throws: SpecError.self) { try SweepPlan.expand(specFiles: [dir + "/a.yaml", dir + "/a.yaml"]) }
    }

    @Test("--set and `run` keep to single runs: no grid through --set")
    func gridNotThroughSet() throws {
        #expect(throws: SpecError.self) {
            try ExperimentSpec.load(path: TestPaths.root + "/experiments/case1.yaml", overrides: ["grid={optimizer.learning_rate: [0.1]}"])
        }
    }

    @Test("shards split the plan: every run in exactly one shard, round robin")
    func shards() throws {
        let dir = specs(["s.yaml": Self.lrRotation])
        let plan = try SweepPlan.expand(specFiles: [dir + "/s.yaml"])
        let shards = (0..<5).map { plan.shard($0, of: 5).map(\.id) }
        #expect(shards[0] == [0, 5, 10] && shards[4] == [4, 9])
        #expect(shards.flatMap { $0 }.sorted() == Array(0..<12))
        #expect(plan.shard(0, of: 1).map(\.id) == Array(0..<12))
        #expect(try SweepPlan.parseShard("2/5") == (2, 5))
        for bad in ["5/5", "-1/2", "1", "a/b", "0/0", "1/2/3"] {
            #expect(throws: DataError.self, "\(bad)") { try SweepPlan.parseShard(bad) }
        }
        #expect(SweepPlan.ranges([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
        #expect(SweepPlan.ranges([3]) == "3" && SweepPlan.ranges([]) == "")
    }

    @Test("the sbatch script: the array, the warning signal, requeue, per-task logs, the task command")
    func sbatchScript() throws {
        var script = SlurmScript(jobName: "s", taskIDs: [0, 1, 2, 3, 6], workingDirectory: "/home/u/DigitLab",
                                 logDirectory: "/home/u/DigitLab/results/slurm", executable: "/home/u/DigitLab/.build/release/digitlab",
                                 specFiles: ["experiments/sweeps/a b.yaml", "experiments/case1.yaml"], resultsDirectory: "results",
                                 planDigest: "0123456789ab")
        script.arrayParallelism = 2
        script.time = "1:00:00"
        script.cpusPerTask = 4
        script.partition = "short"
        script.extraOptions = ["--constraint=avx512"]
        let text = script.text
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "#!/bin/bash")
        for line in ["#SBATCH --array=0-3,6%2", "#SBATCH --signal=B:USR1@90", "#SBATCH --requeue", "#SBATCH --open-mode=append",
                     "#SBATCH --output=/home/u/DigitLab/results/slurm/s-%A_%a.out", "#SBATCH --chdir=/home/u/DigitLab",
                     "#SBATCH --cpus-per-task=4", "#SBATCH --partition=short", "#SBATCH --time=1:00:00",
                     "#SBATCH --job-name=s", "#SBATCH --constraint=avx512"] {
            #expect(lines.contains(line), "\(line)")
        }
        #expect(!text.contains("--mem") && !text.contains("--account") && !text.contains("--qos"))
        // Every #SBATCH line comes before the first command, or sbatch ignores it.
        let firstCommand = lines.firstIndex { !$0.hasPrefix("#") && !$0.isEmpty }!
        #expect(lines.lastIndex { $0.hasPrefix("#SBATCH") }! < firstCommand)
        #expect(text.contains("/home/u/DigitLab/.build/release/digitlab run --task \"$task\" --expect-plan 0123456789ab --out results "
                              + "'experiments/sweeps/a b.yaml' experiments/case1.yaml &"))
        #expect(text.contains("trap 'warned=1; [ -n \"$pid\" ] && kill -USR1 \"$pid\" 2>/dev/null' USR1"))
        #expect(text.contains("scontrol requeue \"$job\""))
        #expect(text.contains("job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"))
        script.signalSeconds = 300
        script.arrayParallelism = nil
        #expect(script.text.contains("#SBATCH --signal=B:USR1@300\n") && script.text.contains("#SBATCH --array=0-3,6\n"))

        // The shell accepts it.
        let path = TestPaths.temporaryDirectory("sbatch") + "/s.sbatch"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-n", path]
        try bash.run()
        bash.waitUntilExit()
        #expect(bash.terminationStatus == 0)
    }

    @Test("the script passes the warning on, waits for the save and requeues; without the warning it only waits")
    func scriptSignals() throws {
        // The script with a stand-in for digitlab (exit 130 when warned, as digitlab does after saving)
        // and for scontrol, run under bash with Slurm's variables.
        let dir = TestPaths.temporaryDirectory("sbatch")
        let fake = dir + "/fake-digitlab"
        // It works for STEPS tenths of a second: warned, it is stopped by the warning long before
        // that; unwarned, it finishes. Saving takes a moment, so a script that did not wait would
        // requeue before "saved".
        try "#!/bin/bash\ntrap 'sleep 0.2; echo saved; exit 130' USR1\necho started\nfor i in $(seq $STEPS); do sleep 0.1; done\necho finished\n"
            .write(toFile: fake, atomically: true, encoding: .utf8)
        try "#!/bin/bash\necho \"scontrol $*\"\n".write(toFile: dir + "/scontrol", atomically: true, encoding: .utf8)
        chmod(fake, 0o755); chmod(dir + "/scontrol", 0o755)
        let script = SlurmScript(jobName: "s", taskIDs: [0], workingDirectory: dir, logDirectory: dir, executable: fake,
                                 specFiles: ["s.yaml"], resultsDirectory: "results", planDigest: "d")
        try script.text.write(toFile: dir + "/s.sbatch", atomically: true, encoding: .utf8)

        func run(warned: Bool) throws -> (status: Int32, output: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [dir + "/s.sbatch"]
            p.environment = ["PATH": dir + ":/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_JOB_ID": "77", "SLURM_JOB_ID": "78",
                             "STEPS": warned ? "6000" : "5"]
            let out = Pipe()
            p.standardOutput = out
            // The test's threads may block SIGUSR1, and a child inherits the mask; Slurm starts
            // batch scripts with none blocked.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            try p.run()
            var data = Data()
            if warned {
                // Warn once the task has started (its trap set, and the script's before it), as
                // Slurm warns a running job: at the line it prints, not after a guessed delay.
                while !String(decoding: data, as: UTF8.self).contains("started\n") {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    data += chunk
                }
                kill(p.processIdentifier, SIGUSR1)
            }
            data += out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let warned = try run(warned: true)
        #expect(warned.status == 0, "\(warned.output)")
        #expect(warned.output.contains("saved") && warned.output.contains("scontrol requeue 77_0"), "\(warned.output)")
        // The script waited for the save before requeueing, and the task did not run to its end.
        let saved = warned.output.range(of: "saved"), requeued = warned.output.range(of: "scontrol requeue")
        #expect(saved != nil && requeued != nil && saved!.lowerBound < requeued!.lowerBound, "\(warned.output)")
        #expect(!warned.output.contains("finished"), "\(warned.output)")
        let quiet = try run(warned: false)
        #expect(quiet.status == 0 && quiet.output.contains("finished") && !quiet.output.contains("scontrol"), "\(quiet.output)")
    }

    @Test("finished runs are skipped: same resolved spec and a finished summary; seeds lists and comments do not matter")
    func skipFinished() throws {
        let dir = specs(["s.yaml": Self.lrRotation])
        let results = dir + "/results"
        let plan = try SweepPlan.expand(specFiles: [dir + "/s.yaml"], resultsDirectory: results)
        let run = plan.runs[1]
        #expect(run.status == .pending && !run.plan.isFinished)

        func finish(_ p: RunPlan, spec: String, status: String = "finished") throws {
            try FileManager.default.createDirectory(atPath: p.directory, withIntermediateDirectories: true)
            try spec.write(toFile: p.specPath, atomically: true, encoding: .utf8)
            try (RunSummary.csvColumns.joined(separator: ",") + "\ns,,mnist,\(p.seed),20,\(status),90,99,,,98.5,0.05,3\n")
                .write(toFile: p.summaryPath, atomically: true, encoding: .utf8)
        }
        try finish(run.plan, spec: run.plan.resolvedYAML)
        #expect(run.plan.isFinished && run.status == .finished)
        // Another seeds list (the study grew) and another spelling of the spec's path: still this run.
        let grown = run.plan.resolvedYAML.replacingOccurrences(of: "  seeds: [0, 1]", with: "  seeds: [0, 1, 2, 3]")
            .replacingOccurrences(of: "# resolved from ", with: "# resolved from ./")
        #expect(grown != run.plan.resolvedYAML)
        try finish(run.plan, spec: grown)
        #expect(run.plan.isFinished)
        // Another learning rate, or a diverged run, is not this finished run.
        try finish(run.plan, spec: run.plan.resolvedYAML.replacingOccurrences(of: "learning_rate: 0.001", with: "learning_rate: 0.002"))
        #expect(!run.plan.isFinished)
        try finish(run.plan, spec: run.plan.resolvedYAML, status: "diverged")
        #expect(!run.plan.isFinished)
        // A checkpoint of this spec without a summary: started.
        try FileManager.default.removeItem(atPath: run.plan.summaryPath)
        FileManager.default.createFile(atPath: run.plan.checkpointPath, contents: Data())
        #expect(run.status == .started)

        // The report counts what is missing.
        try finish(plan.runs[0].plan, spec: plan.runs[0].plan.resolvedYAML)
        try finish(plan.runs[6].plan, spec: plan.runs[6].plan.resolvedYAML)
        let report = try SweepReport.collect(plan: plan)
        #expect(report.finishedCount == 2 && report.missing.count == 10)
        #expect(report.progress.hasPrefix("12 planned runs: 2 finished, 10 missing (ids 1-5,7-11)"))
        #expect(report.runs.rows.map { $0[0] } == ["0", "6"])
        let first = try #require(report.groups.first)
        #expect(first.name == "s+learning_rate=0.001,rotation_range=0" && first.seeds == [0, 1] && first.planned.count == 2)
        #expect(report.summary.rows[0][report.summary.column("test_acc_mean")!] == "98.500")
    }
}

/// The sweep commands as a user runs them, without training.
@Suite("Sweep commands", .serialized)
struct SweepCommandTests {
    @Test("plan, sweep --dry-run, run --task and report: counts, JSON, the script, skips and refusals")
    func commands() throws {
        let dir = SweepTests().specs(["s.yaml": SweepTests.lrRotation])
        let spec = dir + "/s.yaml", out = dir + "/results"

        let count = try runTool(["plan", "--count", "--out", out, spec])
        #expect(count.status == 0 && count.stdout == "12\n", "\(count.stderr)")
        let json = try runTool(["plan", "--json", "--out", out, spec])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 12 && runs[3]["name"] as? String == "s+learning_rate=5e-4,rotation_range=10")
        #expect((runs[3]["settings"] as? [String: String])?["optimizer.learning_rate"] == "5e-4")
        let table = try runTool(["plan", "--out", out, spec])
        let row3 = table.stdout.split(separator: "\n").first { $0.hasPrefix(" 3  ") }.map(String.init) ?? ""
        #expect(row3.contains("s+learning_rate=5e-4,rotation_range=10/seed-0") && row3.hasSuffix(spec), "\(table.stdout)")
        #expect(table.stdout.contains("12 runs (1 spec: 6 settings x 2 seeds): 0 finished"))

        let dry = try runTool(["sweep", "--slurm", "--dry-run", "--time", "10", "--array-parallelism", "3",
                               "--out", out, "--data", TestPaths.mnist, spec])
        #expect(dry.status == 0, "\(dry.stderr)")
        let script = try String(contentsOfFile: out + "/slurm/s.sbatch", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=0-11%3\n") && script.contains("#SBATCH --time=10\n") && dry.stdout == script)
        #expect(script.contains("--data \(TestPaths.mnist)") || script.contains("--data '\(TestPaths.mnist)'"))
        #expect(try runTool(["sweep", "--out", out, spec]).status != 0, "--slurm is required")

        let single = try runTool(["run", "--out", out, spec])
        #expect(single.status == 1 && single.stderr.contains("--task") && single.stderr.contains("--shard"), "\(single.stderr)")
        let stale = try runTool(["run", "--task", "0", "--expect-plan", "000000000000", "--out", out, spec])
        #expect(stale.status == 1 && stale.stderr.contains("edited"), "\(stale.stderr)")
        let beyond = try runTool(["run", "--task", "12", "--out", out, spec])
        #expect(beyond.status == 1 && beyond.stderr.contains("ids 0-11"), "\(beyond.stderr)")
        #expect(try runTool(["run", "--task", "1", "--epochs", "1", "--out", out, spec]).status != 0)

        // A finished run is skipped; the report counts it and lists the rest as missing.
        let plan = try SweepPlan.expand(specFiles: [spec], resultsDirectory: out)
        let done = plan.runs[5].plan
        try FileManager.default.createDirectory(atPath: done.directory, withIntermediateDirectories: true)
        try done.resolvedYAML.write(toFile: done.specPath, atomically: true, encoding: .utf8)
        try (RunSummary.csvColumns.joined(separator: ",") + "\ns,,mnist,0,20,finished,90,99,,,98.5,0.05,3\n")
            .write(toFile: done.summaryPath, atomically: true, encoding: .utf8)
        try (History.csvHeader + "\n1,0.5,0.9,,\n").write(toFile: done.historyPath, atomically: true, encoding: .utf8)
        let skip = try runTool(["run", "--task", "5", "--out", out, spec])
        #expect(skip.status == 0 && skip.stdout.contains("already finished"), "\(skip.stdout)\(skip.stderr)")
        let report = try runTool(["report", "--out", out, spec])
        #expect(report.status == 0 && report.stdout.contains("12 planned runs: 1 finished, 11 missing (ids 0-4,6-11)"), "\(report.stdout)\(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/sweeps/s/summary.md"))
        let pending = try runTool(["plan", "--count", "--pending", "--out", out, spec])
        #expect(pending.stdout == "11\n")
    }
}
