import DigitLab
import Foundation
import Testing

/// The command-line tool as a user runs it: errors are one line naming the problem, exit non-zero
/// and leave no partial results; the smoke run agrees with the golden summary, and a broken
/// change (a wrong learning rate) fails the same diff.
@Suite("Command line", .serialized)
struct CLITests {
    static let goldenColumns = ["--columns", "min_train_acc", "max_train_acc", "test_acc"]

    @Test("--help describes every command")
    func help() throws {
        for command in ["run", "reproduce", "report", "diff", "bench", "spec-keys"] {
            let r = try runTool([command, "--help"])
            #expect(r.status == 0, "\(command) --help")
            #expect(r.stdout.contains("USAGE"), "\(command) --help prints usage")
        }
    }

    /// A Slurm job given one CPU on a machine with more must use one: OpenBLAS too, which on its
    /// own starts a thread per CPU it sees.
    @Test("a run given one CPU uses one thread, OpenBLAS's included")
    func oneCPUOneThread() throws {
        let r = try runTool(["blas"], environment: ["SLURM_CPUS_PER_TASK": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("a run uses 1 engine thread ") && r.stdout.contains("each OpenBLAS call 1 thread"), "\(r.stdout)")
        let all = try runTool(["blas"], environment: ["SLURM_CPUS_PER_TASK": "", "SLURM_JOB_CPUS_PER_NODE": ""])
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(all.stdout.contains("a run uses \(cores) engine thread") && all.stdout.contains("each OpenBLAS call 1 thread"), "\(all.stdout)")
    }

    @Test("a spec with a misspelt key: one-line error naming file, line and key; exit 1; nothing written")
    func misspeltSpec() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        try FileManager.default.copyItem(atPath: TestPaths.root + "/experiments/base.yaml", toPath: dir + "/base.yaml")
        try "extends: base.yaml\nname: typo\ntraining:\n  epochz: 1\n".write(toFile: dir + "/typo.yaml", atomically: true, encoding: .utf8)
        let r = try runTool(["run", dir + "/typo.yaml", "--data", TestPaths.mnist, "--out", dir + "/results"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("typo.yaml:4") && r.stderr.contains("training.epochz") && r.stderr.contains("training.epochs"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/results"))
    }

    @Test("a truncated IDX file: one-line error naming it; exit 1; nothing written")
    func truncatedData() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let data = dir + "/mnist"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: TestPaths.mnist + "/" + name, toPath: data + "/" + name)
        }
        let images = try Data(contentsOf: URL(fileURLWithPath: TestPaths.mnist + "/train-images-idx3-ubyte.gz"))
        try images.prefix(images.count / 3).write(to: URL(fileURLWithPath: data + "/train-images-idx3-ubyte.gz"))
        let r = try runTool(["run", "experiments/smoke.yaml", "--data", data, "--out", dir + "/results"])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("train-images-idx3-ubyte.gz") && r.stderr.contains("truncated"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/results"))
    }

    @Test("the smoke run matches the golden summary; a wrong learning rate fails the same diff")
    func goldenDiff() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let golden = TestPaths.root + "/results/golden/smoke-summary.csv"
        let good = try runTool(["run", "experiments/smoke.yaml", "--data", TestPaths.mnist, "--out", dir])
        #expect(good.status == 0, "smoke run failed: \(good.stderr)")
        let ok = try runTool(["diff", golden, dir + "/runs/smoke/seed-0/summary.csv", "--tolerance", "1"] + Self.goldenColumns)
        #expect(ok.status == 0, "the smoke run should match the golden summary:\n\(ok.stdout)")

        let bad = try runTool(["run", "experiments/smoke.yaml", "--set", "optimizer.learning_rate=0.003",
                               "--data", TestPaths.mnist, "--out", dir])
        #expect(bad.status == 0, "smoke run with a wrong learning rate failed: \(bad.stderr)")
        let caught = try runTool(["diff", golden, dir + "/runs/smoke+optimizer.learning_rate=0.003/seed-0/summary.csv",
                                  "--tolerance", "1"] + Self.goldenColumns)
        #expect(caught.status == 1, "a learning rate 3x too high must fail the golden diff:\n\(caught.stdout)")
        #expect(caught.stdout.contains("OUT OF TOLERANCE"))

        let unreadable = try runTool(["diff", golden, dir + "/no-such.csv"])
        #expect(unreadable.status == 2)
    }

    @Test("Ctrl-C stops at the next batch, saves, says how to resume; the resumed run equals an uninterrupted one")
    func interruptAndResume() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.tool)
        process.arguments = ["run", "experiments/smoke.yaml", "--data", TestPaths.mnist, "--out", dir]
        process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.root)
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        // Interrupt once the first epoch has been written, i.e. during the second.
        let history = dir + "/runs/smoke/seed-0/history.csv"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: history) && process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.5)
        process.interrupt()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "stderr: \(message)")
        #expect(message.contains("Resume with: digitlab run experiments/smoke.yaml") && message.contains("--resume"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/runs/smoke/seed-0/summary.csv"), "no summary for an unfinished run")
        #expect(FileManager.default.fileExists(atPath: dir + "/runs/smoke/seed-0/checkpoint.safetensors"))

        let resumed = try runTool(["run", "experiments/smoke.yaml", "--data", TestPaths.mnist, "--out", dir, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // Against an uninterrupted run on this machine: the golden summary holds only to a
        // tolerance, since other OpenBLAS kernels round differently.
        let whole = TestPaths.temporaryDirectory("cli-uninterrupted")
        let uninterrupted = try runTool(["run", "experiments/smoke.yaml", "--data", TestPaths.mnist, "--out", whole])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let diff = try runTool(["diff", whole + "/runs/smoke/seed-0/summary.csv", dir + "/runs/smoke/seed-0/summary.csv",
                                "--columns", "min_train_acc", "max_train_acc", "test_acc", "test_loss"])
        #expect(diff.status == 0, "an interrupted and resumed run must equal an uninterrupted one exactly:\n\(diff.stdout)")
    }
}
